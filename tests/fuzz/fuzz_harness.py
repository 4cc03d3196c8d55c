"""Run one fuzz case per child process, under an address-space limit and a watchdog.

The child loads the mutated file; whatever loads is saved and loaded back and must compare
equal. The parent learns the outcome through a pipe: ``ok``, ``typed`` (a MotionwrightError),
or a failure (another exception, a failed round trip, a child killed by the watchdog or dead
for any other reason).
"""

from __future__ import annotations

import dataclasses
import os
import resource
import signal
import traceback
from pathlib import Path

from fuzz_formats import Format, loaded_equal

from motionwright.errors import MotionwrightError

# Address space a case may use beyond what the forked process already maps.
HEADROOM_BYTES = 2 * 2**30
WATCHDOG_S = 5


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one case did: ``kind`` is ok, typed or a failure kind; ``detail`` says more."""

    kind: str
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.kind not in ("ok", "typed")


def _mapped_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _case(fmt: Format, path: Path, work: Path) -> Outcome:
    try:
        loaded = fmt.load(path)
    except MotionwrightError as exc:
        return Outcome("typed", type(exc).__name__)
    except BaseException:
        return Outcome("crash", traceback.format_exc(limit=-6))
    if fmt.save is None:
        return Outcome("ok")
    again = work / f"again{fmt.suffix}"
    try:
        fmt.save(loaded, again)
        back = fmt.load(again)
    except BaseException:
        return Outcome("round-trip-error", traceback.format_exc(limit=-6))
    if not loaded_equal(loaded, back):
        return Outcome("round-trip-differs", f"{loaded!r:.300} != {back!r:.300}")
    return Outcome("ok")


def run_in_child(fmt: Format, path: Path, work: Path, watchdog_s: int = WATCHDOG_S) -> Outcome:
    """Load ``path`` as ``fmt`` in a forked child (round trip in ``work``) and report."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_fd)
            limit = _mapped_bytes() + HEADROOM_BYTES
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the kernel kills a hung child
            signal.alarm(watchdog_s)
            outcome = _case(fmt, path, work)
            os.write(write_fd, f"{outcome.kind}\n{outcome.detail}".encode()[:60000])
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    with os.fdopen(read_fd, "rb") as reader:
        while chunk := reader.read(65536):
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        kind = "hang" if sig == signal.SIGALRM else f"killed-by-signal-{sig}"
        return Outcome(kind, f"no answer within {watchdog_s} s" if kind == "hang" else "")
    text = b"".join(chunks).decode(errors="replace")
    if not text:
        return Outcome("died", f"exit status {os.waitstatus_to_exitcode(status)}")
    kind, _, detail = text.partition("\n")
    return Outcome(kind, detail)
