"""Which PySide6 builds the editor runs on, checked before any window opens.

PySide6 6.12.0 on Python 3.11 releases one reference to ``None`` too many on every call that
returns nothing (``QPainterPath.lineTo``, ``QPainter.drawLine``, ...). A session of playback
or a few hundred frame steps then frees ``None`` itself and the interpreter aborts
(``none_dealloc``). Python 3.12 made ``None`` immortal, so the same build is harmless there.
"""

from __future__ import annotations

import gc
import sys

from motionwright.errors import MissingExtraError

SUPPORTED_PYSIDE = "PySide6-Essentials>=6.6,<6.12"
# (PySide6 version, first Python version where it is safe) for builds that corrupt None.
BAD_PYSIDE = {(6, 12, 0): (3, 12)}
PROBE_CALLS = 64


def version_tuple(text: str) -> tuple[int, ...]:
    """``"6.11.3"`` → ``(6, 11, 3)`` (non-numeric parts such as ``"6.8.0.2"``'s are kept as
    far as they are numbers)."""
    parts = []
    for piece in text.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def pyside_problem(pyside_version: str, python: tuple[int, ...] | None = None) -> str | None:
    """Why ``pyside_version`` cannot run the editor on ``python`` (default: this
    interpreter's ``(major, minor)``), or None when it can."""
    python = tuple(sys.version_info[:2]) if python is None else tuple(python)
    version = version_tuple(pyside_version)
    if version[:2] < (6, 6):
        return (f"PySide6 {pyside_version} is too old for the editor; install a supported "
                f"version: pip install '{SUPPORTED_PYSIDE}'")
    safe_from = BAD_PYSIDE.get(version[:3])
    if safe_from is not None and python < safe_from:
        py = ".".join(map(str, python))
        return (f"PySide6 {pyside_version} corrupts Python {py}'s reference count of None and "
                f"the editor would abort mid-session; install a supported version: "
                f"pip install '{SUPPORTED_PYSIDE}' (or run on Python "
                f"{'.'.join(map(str, safe_from))}+)")
    return None


def none_refcount_drift(calls: int = 64) -> int:
    """Change of ``sys.getrefcount(None)`` over ``calls`` PySide6 calls that return nothing
    (0 on a sound build; ``-calls`` on a build that drops a reference each time). Imports
    QtGui but needs no QApplication."""
    from PySide6.QtGui import QPainterPath

    path = QPainterPath()
    path.lineTo(0.0, 0.0)
    collecting = gc.isenabled()
    gc.disable()  # a collection in between would move the count for unrelated reasons
    try:
        before = sys.getrefcount(None)
        for _ in range(calls):
            path.lineTo(1.0, 1.0)
        return sys.getrefcount(None) - before
    finally:
        if collecting:
            gc.enable()


def check_pyside() -> None:
    """Raise :class:`~motionwright.errors.MissingExtraError` naming the fix when the
    installed PySide6 is missing, known to crash on this Python, or is seen dropping
    references to None."""
    try:
        import PySide6
    except ImportError as exc:
        raise MissingExtraError(
            "the editor needs PySide6, which is not installed; install the gui extra: "
            "pip install 'motionwright[gui]'") from exc
    problem = pyside_problem(PySide6.__version__)
    if problem is None and none_refcount_drift(PROBE_CALLS) <= -PROBE_CALLS // 2:
        problem = (f"PySide6 {PySide6.__version__} drops references to None on this Python "
                   f"and the editor would abort mid-session; install a supported version: "
                   f"pip install '{SUPPORTED_PYSIDE}'")
    if problem is not None:
        raise MissingExtraError(problem)
