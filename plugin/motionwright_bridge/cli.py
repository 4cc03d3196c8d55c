"""``motionwright bridge``: build and install the OpenFX plugin, install the Resolve scripts.
Loaded by the SDK CLI through the ``motionwright.commands`` entry point (the SDK never imports
this package)."""

from __future__ import annotations

import argparse
import tempfile
from typing import Any


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bridge`` subcommand."""
    parser = subparsers.add_parser(
        "bridge", help="install Motionwright into editing software (OpenFX, Resolve)",
        description="Build and install the OpenFX plugin; install the DaVinci Resolve scripts.")
    sub = parser.add_subparsers(dest="bridge_command", metavar="ACTION", required=True)
    build = sub.add_parser("build-ofx", help="compile the OpenFX plugin bundle",
                           description="Compile Motionwright.ofx.bundle with the system C "
                           "compiler.")
    build.add_argument("-o", "--output", default=".", help="folder for the bundle (default .)")
    build.add_argument("--cc", help="C compiler (default: $CC, cc, gcc or clang)")
    build.set_defaults(func=run_build)
    install = sub.add_parser("install-ofx", help="build and install the OpenFX plugin",
                             description="Build the bundle and copy it to $OFX_PLUGIN_PATH "
                             "(first entry) or /usr/OFX/Plugins.")
    install.add_argument("--bundle", help="an already built Motionwright.ofx.bundle")
    install.add_argument("--dest", help="plugin folder (default: $OFX_PLUGIN_PATH or "
                         "/usr/OFX/Plugins)")
    install.add_argument("--cc", help="C compiler")
    install.set_defaults(func=run_install)
    resolve = sub.add_parser("install-resolve", help="install the DaVinci Resolve scripts",
                             description="Copy the scripts into Resolve's per-user "
                             "Fusion/Scripts/Utility folder.")
    resolve.add_argument("--dest", help="scripts folder (default: Resolve's per-user one)")
    resolve.set_defaults(func=run_install_resolve)
    return parser


def run_build(args: argparse.Namespace) -> int:
    from .ofx_build import build_ofx

    print(build_ofx(args.output, compiler=args.cc))
    return 0


def run_install(args: argparse.Namespace) -> int:
    from .ofx_build import build_ofx, install_ofx

    if args.bundle:
        print(install_ofx(args.bundle, args.dest))
        return 0
    with tempfile.TemporaryDirectory(prefix="motionwright-ofx-") as tmp:
        print(install_ofx(build_ofx(tmp, compiler=args.cc), args.dest))
    return 0


def run_install_resolve(args: argparse.Namespace) -> int:
    from .resolve import install_scripts

    for path in install_scripts(args.dest):
        print(path)
    return 0
