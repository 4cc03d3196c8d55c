"""Building and installing the OpenFX plugin bundle with the system C compiler.

The C sources ship with the package (``plugin/ofx``: ``include/`` and ``src/``). A build
produces the standard bundle layout::

    DIR/Motionwright.ofx.bundle/Contents/Info.plist
    DIR/Motionwright.ofx.bundle/Contents/Linux-x86-64/Motionwright.ofx

Only Linux x86-64 is built here; ``packaging/ofx.md`` describes the macOS and Windows bundles.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from motionwright.errors import InvalidInputError, MotionwrightError

BUNDLE_NAME = "Motionwright.ofx.bundle"
BINARY_NAME = "Motionwright.ofx"
PLUGIN_ID = "org.motionwright.Motionwright"
WARNINGS = ("-Wall", "-Wextra", "-Werror")


class BuildError(MotionwrightError, RuntimeError):
    """The plugin could not be compiled or installed (no compiler, compiler errors, no
    permission on the plugin folder); the message says what to do."""


def source_dir() -> Path:
    """The folder holding the plugin's C sources (``include/``, ``src/``)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "ofx", here.parent / "ofx"):
        if (candidate / "src").is_dir() and (candidate / "include" / "mw_ofx.h").is_file():
            return candidate
    raise BuildError("the OpenFX plugin sources are missing from this installation (looked "
                     f"in {here / 'ofx'} and {here.parent / 'ofx'}); reinstall motionwright")


def platform_folder() -> str:
    """The bundle's architecture folder for this machine (``Linux-x86-64`` and so on)."""
    machine = platform.machine().lower()
    if sys.platform.startswith("linux"):
        return "Linux-x86-64" if machine in ("x86_64", "amd64") else f"Linux-{machine}"
    if sys.platform == "darwin":
        return "MacOS"
    if sys.platform == "win32":
        return "Win64"
    return f"{sys.platform}-{machine}"


def find_compiler(compiler: str | None = None) -> str:
    """The C compiler to use: ``compiler``, ``$CC``, then ``cc``/``gcc``/``clang`` on PATH."""
    for name in (compiler, os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name) or name
    raise BuildError("no C compiler found: install gcc or clang (e.g. 'apt install gcc'), "
                     "or name one with CC=/path/to/cc")


def info_plist(version: str) -> str:
    """The bundle's ``Info.plist`` text."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>CFBundleDevelopmentRegion</key><string>English</string>
  <key>CFBundleExecutable</key><string>{BINARY_NAME}</string>
  <key>CFBundleIdentifier</key><string>{PLUGIN_ID}</string>
  <key>CFBundleInfoDictionaryVersion</key><string>6.0</string>
  <key>CFBundleName</key><string>Motionwright</string>
  <key>CFBundlePackageType</key><string>BNDL</string>
  <key>CFBundleShortVersionString</key><string>{version}</string>
  <key>CFBundleVersion</key><string>{version}</string>
</dict>
</plist>
"""


def compile_command(output: Path, *, compiler: str | None = None, sanitize: bool | str = False,
                    debug: bool = False) -> list[str]:
    """The compiler command line that builds the plugin binary ``output``. ``sanitize``:
    True or ``"address"`` (AddressSanitizer + UBSan), ``"thread"`` (ThreadSanitizer)."""
    src = source_dir()
    cc = find_compiler(compiler)
    flags = [*WARNINGS, "-std=gnu11", "-fPIC", "-shared", "-fvisibility=hidden"]
    flags += ["-g", "-O1", "-fno-omit-frame-pointer"] if (sanitize or debug) else ["-O2"]
    if sanitize == "thread":
        flags.append("-fsanitize=thread")
    elif sanitize:
        flags.append("-fsanitize=address,undefined")
    sources = sorted(str(p) for p in (src / "src").glob("*.c"))
    return [cc, *flags, f"-I{src / 'include'}", *sources, "-o", str(output), "-lm", "-lpthread"]


def build_ofx(out_dir: str | os.PathLike, *, compiler: str | None = None,
              sanitize: bool | str = False, debug: bool = False) -> Path:
    """Compile the plugin into ``out_dir/Motionwright.ofx.bundle`` (replacing an older one
    whole) and return the bundle's path. ``sanitize`` builds with AddressSanitizer for tests."""
    from motionwright import __version__

    if sys.platform == "win32":
        raise BuildError("building on Windows is done with MSVC: see packaging/ofx.md")
    out = Path(os.path.abspath(os.fspath(out_dir)))
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".mw-ofx-", dir=out))
    try:
        contents = staging / BUNDLE_NAME / "Contents"
        arch = contents / platform_folder()
        arch.mkdir(parents=True)
        binary = arch / BINARY_NAME
        cmd = compile_command(binary, compiler=compiler, sanitize=sanitize, debug=debug)
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BuildError(f"compiling the OpenFX plugin failed ({' '.join(cmd[:1])}):\n"
                             f"{result.stderr.strip()[-4000:]}")
        (contents / "Info.plist").write_text(info_plist(__version__), encoding="utf-8")
        target = out / BUNDLE_NAME
        old = None
        if target.exists():
            old = out / f".{BUNDLE_NAME}.old-{os.getpid()}"
            target.rename(old)
        (staging / BUNDLE_NAME).rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def plugin_folder(dest: str | os.PathLike | None = None) -> Path:
    """Where hosts look for plugins: ``dest``, the first entry of ``$OFX_PLUGIN_PATH``, else
    ``/usr/OFX/Plugins`` (Linux), ``/Library/OFX/Plugins`` (macOS) or
    ``C:\\Program Files\\Common Files\\OFX\\Plugins`` (Windows)."""
    if dest is not None:
        return Path(os.path.abspath(os.fspath(dest)))
    env = os.environ.get("OFX_PLUGIN_PATH", "")
    first = next((p for p in env.split(os.pathsep) if p.strip()), None)
    if first:
        return Path(os.path.abspath(first))
    if sys.platform == "darwin":
        return Path("/Library/OFX/Plugins")
    if sys.platform == "win32":
        return Path(r"C:\Program Files\Common Files\OFX\Plugins")
    return Path("/usr/OFX/Plugins")


def install_ofx(bundle: str | os.PathLike, dest: str | os.PathLike | None = None) -> Path:
    """Copy a built bundle into the hosts' plugin folder (replacing an older copy whole) and
    return the installed bundle's path."""
    src = Path(os.fspath(bundle))
    if src.name != BUNDLE_NAME or not (src / "Contents" / "Info.plist").is_file():
        raise InvalidInputError(f"bundle: expected a built {BUNDLE_NAME} folder, got {str(src)!r}; "
                                "run 'motionwright bridge build-ofx' first")
    folder = plugin_folder(dest)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".mw-ofx-", dir=folder))
        shutil.copytree(src, staging / BUNDLE_NAME)
        target = folder / BUNDLE_NAME
        old = folder / f".{BUNDLE_NAME}.old-{os.getpid()}"
        if target.exists():
            target.rename(old)
        (staging / BUNDLE_NAME).rename(target)
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    except PermissionError as exc:
        raise BuildError(f"no permission to write {folder}: run with sudo, or set OFX_PLUGIN_PATH "
                         "to a folder you own and point the host at it") from exc
    return target
