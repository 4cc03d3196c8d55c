"""``python -m motionwright_gui [PROJECT|CLIP] [--screenshot OUT.png]``."""

from __future__ import annotations

import argparse
import sys

from motionwright.errors import MotionwrightError

from .cli import register


def main(argv: list[str] | None = None) -> int:
    """Parse the ``gui`` arguments and run the editor."""
    parser = argparse.ArgumentParser(prog="python -m motionwright_gui")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["gui", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except MotionwrightError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
