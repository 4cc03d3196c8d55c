"""``motionwright serve``: run the local render server (foreground, or ``--detach``)."""

from __future__ import annotations

import argparse
import os
import re

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_bytes(text: str) -> int:
    """Parse a size such as ``20G``, ``512M``, ``1.5GB`` or ``1000000`` (bytes; K/M/G/T are
    powers of 1024) into a positive number of bytes."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if m is None:
        raise argparse.ArgumentTypeError(f"expected a size such as 20G, 512M or 1000000 "
                                         f"(bytes), got {text!r}")
    size = int(float(m.group(1)) * _UNITS[m.group(2)])
    if size <= 0:
        raise argparse.ArgumentTypeError(f"expected a size above 0, got {text!r}")
    return size


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected 0 (any free port) to 65535, got {port}")
    return port


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the local render server",
        description="Run the render server that the editor, the NLE plugins and scripts "
        "submit renders to. It listens on loopback only and writes server.json (its address "
        "and a fresh token, mode 0600) to the runtime folder; Ctrl-C or SIGTERM stops it after "
        "the running chunk (queued jobs stay queued for the next start). See docs/bridge.md.")
    parser.add_argument("--port", type=_port, default=0,
                        help="TCP port (default 0: any free port; clients read it from "
                        "server.json)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="loopback address to listen on: 127.0.0.1 (default) or ::1; any "
                        "other address is refused")
    parser.add_argument("--workers", type=_positive, default=2,
                        help="CPU workers rendering preview jobs in parallel (default 2)")
    parser.add_argument("--cache-max", type=parse_bytes, metavar="SIZE", default=None,
                        help="result cache size limit, e.g. 20G (least recently used results "
                        "are evicted; default: the service's)")
    parser.add_argument("--ray", metavar="ADDRESS", default=None,
                        help="run chunks on this Ray cluster (needs the 'farm' extra)")
    parser.add_argument("--output-root", action="append", default=[], metavar="FOLDER",
                        help="a folder requests may write output files in, besides the data "
                        "folder and each source's folder (repeatable)")
    parser.add_argument("--recover", action="store_true",
                        help="move an unreadable job database aside (kept, renamed "
                        "jobs.sqlite3.corrupt-<time>) and start with the jobs whose result "
                        "folders survive")
    parser.add_argument("--detach", action="store_true",
                        help="start in the background (logs to server.log in the data folder) "
                        "and return once it answers")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="--detach: seconds to wait for the server to answer (default 30)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..service import server

    host = server.check_host(args.host)
    if args.detach:
        serve_args = ["--host", host, "--port", str(args.port), "--workers", str(args.workers)]
        if args.cache_max is not None:
            serve_args += ["--cache-max", str(args.cache_max)]
        if args.ray is not None:
            serve_args += ["--ray", args.ray]
        for root in args.output_root:
            serve_args += ["--output-root", os.path.abspath(root)]
        if args.recover:
            serve_args.append("--recover")
        info = server.detach(serve_args, timeout=args.timeout)
        print(f"render server at {info.url} (pid {info.pid}); log: {server.log_path()}")
        return 0
    return server.serve(host=host, port=args.port, workers=args.workers,
                        cache_max_bytes=args.cache_max, ray=args.ray, recover=args.recover,
                        allowed_output_roots=[os.path.abspath(r) for r in args.output_root])
