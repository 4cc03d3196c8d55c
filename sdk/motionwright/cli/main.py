"""The ``motionwright`` command: argument parsing, dispatch and error reporting.

Each command lives in its own ``cmd_<name>`` module exposing ``register(subparsers)``. Other
packages of the distribution (the editor's ``gui`` command) add theirs through the
``motionwright.commands`` entry-point group, so the SDK never imports them. A
:class:`~motionwright.errors.MotionwrightError` becomes one line on stderr and exit status 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
import warnings
from importlib.metadata import entry_points

from .. import __version__
from ..errors import MissingExtraError, MotionwrightError

COMMANDS = [
    "track",
    "drag",
    "info",
    "demo",
    "render",
    "motion",
    "models",
    "serve",
    "jobs",
    "cache",
    "otio",
    "generate",
    "prompt",
    "trajectory",
    "train",
]


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="motionwright",
        description="Motion-controlled video editing: drag points, draw trajectories, "
        "reuse learned motions; CPU preview or local diffusion models.",
    )
    parser.add_argument("--version", action="version", version=f"motionwright {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"motionwright.cli.cmd_{name}").register(subparsers)
    seen: set[str] = set()
    for entry in entry_points(group="motionwright.commands"):
        # Two installed copies (an editable install next to a wheel) list the same command.
        if entry.name in seen:
            continue
        seen.add(entry.name)
        try:
            register = entry.load()
        except ImportError as exc:  # an optional part whose extra is not installed
            _unavailable(subparsers, entry.name, exc)
            continue
        register(subparsers)
    return parser


def _unavailable(subparsers: argparse._SubParsersAction, name: str, exc: ImportError) -> None:
    parser = subparsers.add_parser(name, help=f"(unavailable: {exc})", add_help=False)
    parser.add_argument("rest", nargs=argparse.REMAINDER)

    def run(args: argparse.Namespace) -> int:
        raise MissingExtraError(f"the '{name}' command cannot start: {exc}; "
                                "install the extra it needs, e.g. pip install 'motionwright[gui]'")

    parser.set_defaults(func=run)


def _warning_printer():
    """A ``warnings.showwarning`` that prints each distinct warning once, as one line: the
    output checks made before the work warn again when the output is written."""
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if str(message) not in shown:
            shown.add(str(message))
            print(f"warning: {message}", file=sys.stderr)

    return show


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 success, 2 user error, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    if not args.debug:
        warnings.showwarning = _warning_printer()
    try:
        status = args.func(args)
    except MotionwrightError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"motionwright {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"motionwright {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
