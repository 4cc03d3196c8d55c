"""``motionwright jobs list|status|cancel|wait|delete``: the render server's jobs."""

from __future__ import annotations

import argparse
import sys

from ._common import print_json, progress_bar

STATES = ("queued", "running", "done", "failed", "cancelled")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "jobs", help="list, watch and cancel the render server's jobs",
        description="Jobs of the running render server (motionwright serve). They outlive the "
        "program that submitted them; a job id is shown by 'jobs list'.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every job, newest last")
    listing.add_argument("--state", choices=STATES, help="only jobs in this state")
    listing.add_argument("--json", action="store_true", help="print the job views as JSON")
    for name, text in (("status", "one job's state and progress"),
                       ("cancel", "cancel a queued or running job"),
                       ("wait", "wait for a job to finish, showing its progress; exit "
                                "status 1 unless it is done"),
                       ("delete", "delete a job and its results (cancels it first)")):
        action = actions.add_parser(name, help=text)
        action.add_argument("id", help="the job id")
        if name != "delete":
            action.add_argument("--json", action="store_true", help="print the job view as JSON")
        if name == "wait":
            action.add_argument("--timeout", type=float, default=None,
                                help="give up waiting after this many seconds (the job goes on)")
    parser.set_defaults(func=run)


def _line(view: dict) -> str:
    progress = view.get("progress") or {}
    percent = f"{100.0 * float(progress.get('fraction', 0.0)):5.1f}%"
    eta = view.get("eta")
    eta_text = f" ETA {eta:.0f}s" if isinstance(eta, int | float) and view["state"] == "running" \
        else ""
    label = f" {view['label']}" if view.get("label") else ""
    cached = " (cached)" if view.get("cached") else ""
    error = f" — {view['error']['message']}" if view.get("error") else ""
    return (f"{view['id']}  {view['state']:<9} {percent}{eta_text}  {view.get('backend', '')}"
            f"  {view.get('frames', '?')} frames{label}{cached}{error}")


def run(args: argparse.Namespace) -> int:
    from ..bridge import Client

    client = Client.find()
    if args.action == "list":
        jobs = client.jobs(args.state)
        if args.json:
            print_json({"jobs": jobs})
        elif not jobs:
            print("no jobs" + (f" in state {args.state}" if args.state else ""))
        for view in [] if args.json else jobs:
            print(_line(view))
        return 0
    if args.action == "delete":
        client.delete(args.id)
        print(f"deleted {args.id}")
        return 0
    if args.action == "status":
        view = client.status(args.id)
    elif args.action == "cancel":
        view = client.cancel(args.id)
    else:
        view = _wait(client, args)
    if args.json:
        print_json(view)
    else:
        print(_line(view))
    # wait succeeds only when the job is done; status and cancel report whatever the state.
    return 1 if args.action == "wait" and view["state"] != "done" else 0


def _wait(client, args: argparse.Namespace) -> dict:
    from ..errors import Cancelled, MotionwrightError

    try:
        return client.wait(args.id, progress=None if args.json else progress_bar(),
                           timeout=args.timeout)
    except Cancelled:
        return client.status(args.id)
    except KeyboardInterrupt:
        print(f"stopped waiting; job {args.id} goes on in the server "
              f"(motionwright jobs cancel {args.id} stops it)", file=sys.stderr)
        raise
    except MotionwrightError:
        view = client.status(args.id)
        if view["state"] == "failed":
            return view
        raise
