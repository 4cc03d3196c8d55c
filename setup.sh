#!/usr/bin/env bash
# One-command set-up for Motionwright.
#   bash setup.sh demo   create .venv, install Motionwright (core only), run `motionwright demo`
#   bash setup.sh gui    create .venv, install Motionwright with the editor, open `motionwright gui`
#   bash setup.sh test   create .venv, install Motionwright with test tools, run the test suite
#                        (`--all` first among the arguments includes the tests marked slow)
# Extra arguments after the command go to `motionwright demo`, `motionwright gui` or pytest.
# Environment: MOTIONWRIGHT_VENV (default .venv), PYTHON (default python3),
#              MOTIONWRIGHT_TORCH (the pip requirement for torch; chosen automatically).
set -euo pipefail
cd "$(dirname "$0")"

job="${1:-}"
case "$job" in
  demo|gui|test) shift ;;
  *) echo "usage: bash setup.sh demo|gui|test [ARGS...]" >&2; exit 2 ;;
esac

python="${PYTHON:-python3}"
venv="${MOTIONWRIGHT_VENV:-.venv}"
is_root_on_debian() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup.sh: Motionwright needs Python 3.11 or newer ($python is $("$python" --version 2>&1))" >&2
  exit 2
fi

if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    # Debian splits venv into its own package.
    if is_root_on_debian; then
      pyver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      apt_install "python${pyver}-venv" || apt_install python3-venv
      "$python" -m venv "$venv"
    else
      echo "setup.sh: '$python -m venv' failed; install your distribution's venv package (Debian: sudo apt-get install python3-venv)" >&2
      exit 2
    fi
  fi
fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)

# The demo renders with the CPU preview: no PyTorch, no diffusers, no Qt.
if [ "$job" = demo ]; then
  "${pip[@]}" -e .
  exec "$venv/bin/motionwright" demo "$@"
fi

# Qt's desktop (xcb) platform needs X11 libraries that minimal Debian images lack. ldd names the
# ones missing; as root on Debian they are installed, elsewhere the command to install them is shown.
qt_system_libraries() {
  local plugin missing
  plugin=$("$venv/bin/python" -c 'import pathlib, PySide6; print(next(pathlib.Path(PySide6.__file__).parent.glob("Qt/plugins/platforms/libqxcb.so"), ""))')
  [ -n "$plugin" ] || return 0
  missing=$(ldd "$plugin" | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
  [ -n "$missing" ] || return 0
  local debian_packages=(libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
    libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libegl1
    libgl1 libfontconfig1 libdbus-1-3)
  if is_root_on_debian; then
    echo "setup.sh: installing the X11 libraries Qt's desktop platform needs ($missing)" >&2
    apt_install "${debian_packages[@]}"
  else
    echo "setup.sh: Qt's desktop platform is missing $missing; on Debian/Ubuntu install them with:" >&2
    echo "  sudo apt-get install ${debian_packages[*]}" >&2
  fi
}

if [ "$job" = gui ]; then
  "${pip[@]}" -e ".[gui]"
  qt_system_libraries
  exec "$venv/bin/motionwright" gui "$@"
fi

# Torch: the CPU build where no CUDA GPU is present, the regular (CUDA) build where one is.
if [ -z "${MOTIONWRIGHT_TORCH:-}" ]; then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    MOTIONWRIGHT_TORCH="torch>=2.2"
  else
    MOTIONWRIGHT_TORCH="torch==2.13.0"
  fi
fi
"${pip[@]}" "$MOTIONWRIGHT_TORCH"
"${pip[@]}" -e ".[gui,diffusion,dev,farm,otio]"
qt_system_libraries

markers=(-m "not slow")
if [ "${1:-}" = --all ]; then
  shift
  markers=()
fi
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
"$venv/bin/ruff" check .
"$venv/bin/lint-imports"
exec "$venv/bin/python" -m pytest "${markers[@]}" "$@"
