"""``motionwright cache info|clear``: the render service's result cache."""

from __future__ import annotations

import argparse

from ._common import print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cache", help="size of the render result cache, or clear it",
        description="The render service keeps finished results so that the same render "
        "submitted again returns at once. Through the running server when there is one, "
        "else on the data folder directly.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (("info", "size, limit, entries and folder of the cache"),
                       ("clear", "remove every cached result")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=run)


def _human(n: int | None) -> str:
    if n is None:
        return "no limit"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def _local_cache():
    from ..service.cache import ResultCache
    from ..service.paths import cache_dir, data_dir

    return ResultCache(cache_dir(data_dir()))


def run(args: argparse.Namespace) -> int:
    from ..bridge import Client
    from ..errors import ServerNotRunningError

    try:
        client = Client.find()
    except ServerNotRunningError:
        client = None
    if client is not None:
        info = client.request("GET" if args.action == "info" else "DELETE", "/v1/cache")[1]
    else:
        cache = _local_cache()
        info = cache.info() if args.action == "info" else cache.clear()
    if args.json:
        print_json(info)
        return 0
    prefix = "cleared; " if args.action == "clear" else ""
    print(f"{prefix}{info['entries']} results, {_human(info['bytes'])} of "
          f"{_human(info.get('max_bytes'))} in {info['path']}")
    return 0
