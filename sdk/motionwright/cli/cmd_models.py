"""``motionwright models``: tell Motionwright where your diffusion model weights are.

``models add FAMILY PATH`` records a diffusers folder (or a single ``.safetensors``/``.ckpt`` file
with ``--config FOLDER``) in the user's ``config.toml``; ``models list`` shows what serves each
family and where that came from; ``models check`` loads each model and reports dtype, size and
anything missing; ``models remove FAMILY`` forgets an entry. Nothing is ever downloaded.
"""

from __future__ import annotations

import argparse
from importlib.util import find_spec

from ._common import print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..models.families import FAMILIES

    families = ", ".join(FAMILIES)
    parser = subparsers.add_parser(
        "models", help="configure local diffusion models",
        description="Point Motionwright at model weights you already have (diffusers folders "
        f"or single .safetensors/.ckpt files). Families: {families}. Nothing is downloaded.")
    sub = parser.add_subparsers(dest="models_command", metavar="SUBCOMMAND", required=True)

    add = sub.add_parser("add", help="record the model folder or file for a family",
                         description="Check a model's files and record it in config.toml.")
    add.add_argument("family", help=f"one of {families}")
    add.add_argument("path", help="a diffusers model folder, or a .safetensors/.ckpt file")
    add.add_argument("--config", metavar="FOLDER",
                     help="for a single file: a diffusers folder of the family giving the configs")
    add.set_defaults(func=run_add)

    lst = sub.add_parser("list", help="show the model configured for each family")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=run_list)

    check = sub.add_parser("check", help="load each configured model and report on it",
                           description="Load every component (on the CPU) and report its "
                           "class, stored dtype, parameters and size, or what is missing.")
    check.add_argument("families", nargs="*", metavar="FAMILY",
                       help="families to check (default: every configured one)")
    check.add_argument("--model", metavar="PATH", help="check this path (needs one FAMILY)")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=run_check)

    rm = sub.add_parser("remove", help="forget the model recorded for a family")
    rm.add_argument("family")
    rm.set_defaults(func=run_remove)


def run_add(args: argparse.Namespace) -> int:
    from ..models.store import ModelStore

    store = ModelStore()
    spec = store.add(args.family, args.path, args.config)
    layout = spec.layout()
    from ..models.memory import format_bytes

    print(f"{spec.family}: {spec.path} ({layout.pipeline_class}, "
          f"{format_bytes(layout.size_bytes)} of weights) -> {store.path}")
    missing = [name for name in ("torch", "diffusers", "transformers") if find_spec(name) is None]
    if missing:
        print(f"note: rendering with it needs the 'diffusion' extra ({', '.join(missing)} not "
              "installed): pip install 'motionwright[diffusion]'")
    return 0


def _status(spec) -> tuple[str, str]:
    from ..errors import MotionwrightError

    try:
        layout = spec.layout()
    except MotionwrightError as exc:
        return "problem", str(exc)
    return "ok", layout.pipeline_class


def run_list(args: argparse.Namespace) -> int:
    from ..models.families import FAMILIES
    from ..models.store import ModelStore, configured_models

    store = ModelStore()
    specs = configured_models(store)
    rows = []
    for name, fam in FAMILIES.items():
        spec = specs.get(name)
        if spec is None:
            rows.append({"family": name, "title": fam.title, "path": None, "source": None,
                         "status": "not configured",
                         "detail": f"motionwright models add {name} PATH"})
            continue
        status, detail = _status(spec)
        rows.append({"family": name, "title": fam.title, "path": str(spec.path),
                     "config": str(spec.config) if spec.config else None,
                     "source": spec.source, "status": status, "detail": detail})
    if args.json:
        print_json({"config_file": str(store.path), "models": rows})
        return 0
    print(f"config file: {store.path}")
    for row in rows:
        if row["path"] is None:
            print(f"{row['family']:<12} not configured  ({row['detail']})")
        else:
            print(f"{row['family']:<12} {row['path']}  [{row['status']}: {row['detail']}] "
                  f"from {row['source']}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from ..errors import InvalidInputError
    from ..models.families import get_family
    from ..models.loading import check_model
    from ..models.memory import format_bytes
    from ..models.store import ModelStore, configured_models, resolve_model

    store = ModelStore()
    if args.model is not None:
        if len(args.families) != 1:
            raise InvalidInputError("--model: name the one FAMILY the path belongs to, e.g. "
                                    "`motionwright models check svd --model PATH`")
        specs = {get_family(args.families[0]).name: resolve_model(args.families[0], args.model)}
    elif args.families:
        specs = {get_family(f).name: resolve_model(f, store=store) for f in args.families}
    else:
        specs = configured_models(store)
        if not specs:
            raise InvalidInputError("no models configured; add one with "
                                    "`motionwright models add FAMILY PATH`")
    results = {}
    problems = 0
    for name, spec in specs.items():
        reports = check_model(spec)
        problems += sum(r.status != "ok" for r in reports)
        results[name] = {"path": str(spec.path), "source": spec.source,
                         "components": [r.__dict__ for r in reports]}
    if args.json:
        print_json(results)
        return 1 if problems else 0
    for name, result in results.items():
        print(f"{name}: {result['path']} (from {result['source']})")
        for r in result["components"]:
            if r["status"] != "ok":
                print(f"  {r['name']:<18} {r['status'].upper()}: {r['message']}")
                continue
            params = f"{r['parameters'] / 1e6:.1f}M params" if r["parameters"] else ""
            size = format_bytes(r["size_bytes"]) if r["size_bytes"] else ""
            print(f"  {r['name']:<18} {r['class_name']:<34} {r['dtype'] or '':<5} "
                  f"{params:>16} {size:>10}  ok")
    if problems:
        print(f"{problems} problem(s) found")
    return 1 if problems else 0


def run_remove(args: argparse.Namespace) -> int:
    from ..models.families import get_family
    from ..models.store import ModelStore

    store = ModelStore()
    name = get_family(args.family).name
    if store.remove(name):
        print(f"{name}: removed from {store.path}")
    else:
        print(f"{name}: nothing recorded in {store.path}")
    return 0
