#!/usr/bin/env bash
# One-command set-up for Motionwright.
#   bash setup.sh demo   create .venv, install Motionwright, run `motionwright demo`
#   bash setup.sh test   create .venv, install Motionwright with test tools, run the test suite
# Extra arguments after the command go to `motionwright demo` or to pytest.
# Environment: MOTIONWRIGHT_VENV (default .venv), PYTHON (default python3),
#              MOTIONWRIGHT_TORCH (the pip requirement for torch; chosen automatically).
set -euo pipefail
cd "$(dirname "$0")"

job="${1:-}"
case "$job" in
  demo|test) shift ;;
  *) echo "usage: bash setup.sh demo|test [ARGS...]" >&2; exit 2 ;;
esac

python="${PYTHON:-python3}"
venv="${MOTIONWRIGHT_VENV:-.venv}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup.sh: Motionwright needs Python 3.11 or newer ($python is $("$python" --version 2>&1))" >&2
  exit 2
fi

if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    # Debian splits venv into its own package.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      pyver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      apt-get update -qq && apt-get install -y -qq "python${pyver}-venv" || apt-get install -y -qq python3-venv
      "$python" -m venv "$venv"
    else
      echo "setup.sh: '$python -m venv' failed; install your distribution's venv package (Debian: sudo apt-get install python3-venv)" >&2
      exit 2
    fi
  fi
fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)

# Torch: the CPU build where no CUDA GPU is present, the regular (CUDA) build where one is.
if [ -z "${MOTIONWRIGHT_TORCH:-}" ]; then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    MOTIONWRIGHT_TORCH="torch>=2.2"
  else
    MOTIONWRIGHT_TORCH="torch==2.13.0"
  fi
fi
"${pip[@]}" "$MOTIONWRIGHT_TORCH"

if [ "$job" = demo ]; then
  "${pip[@]}" -e ".[diffusion]"
  exec "$venv/bin/motionwright" demo "$@"
fi

"${pip[@]}" -e ".[gui,diffusion,dev]"
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
"$venv/bin/ruff" check .
"$venv/bin/lint-imports"
exec "$venv/bin/python" -m pytest "$@"
