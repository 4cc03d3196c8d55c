"""Crash-safe writes of files and folders, and the clean-up of what a killed writer left.

A file is written to a temporary file beside it and renamed into place. A folder (a PNG
sequence, say) is written whole to a staging folder beside it; then the old folder is renamed
aside, the staging folder renamed in, and the old one removed. A process killed at any point
leaves the target either wholly old or wholly new: if it dies between the two renames,
:func:`recover_folder` (run by the loaders, and before every folder save) puts the complete
folder back in place.

Every temporary entry is named ``.mw-<pid>-<tag>-<random>.<kind>[suffix]`` (``kind`` is
``part`` for files, ``new``/``old`` for folders; ``tag`` is a short hash of the target's name).
Before each save, entries of that naming in the target's folder whose process no longer runs
are removed, so a kill never leaves litter for long. Writes are safe against the writing
process dying, not against power loss (nothing is fsynced).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import InvalidInputError

_TEMP_NAME = re.compile(r"\.mw-(\d+)-([0-9a-f]{8})-([0-9a-z]+)\.(part|new|old)")


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Temporary files are created private (0600); finished files and folders get the usual modes.
_FILE_MODE = 0o666 & ~_current_umask()
_FOLDER_MODE = 0o777 & ~_current_umask()


def _tag(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def _temp_name(target: Path, kind: str, token: str, suffix: str = "") -> str:
    # Only the target's suffix is kept (some writers pick the format from it): the full name
    # could exceed the file-system's limit on name length.
    return f".mw-{os.getpid()}-{_tag(target.name)}-{token}.{kind}{suffix}"


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs on this machine."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) would terminate it on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clean_stale(folder: str | os.PathLike) -> list[Path]:
    """Remove temporary entries of killed writers from ``folder``; returns what was removed.

    Only names of this module's pattern whose process is gone are touched. An ``old`` folder
    whose target is missing is kept: it is the only copy, and :func:`recover_folder` puts it
    back when that target is next loaded or saved.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    names = {e.name for e in entries}
    present_tags: set[str] | None = None
    removed = []
    for entry in entries:
        m = _TEMP_NAME.match(entry.name)
        if m is None or _pid_alive(int(m.group(1))):
            continue
        pid, tag, token, kind = m.groups()
        if kind != "part" and present_tags is None:
            present_tags = {_tag(n) for n in names if not _TEMP_NAME.match(n)}
        if kind != "part" and tag not in present_tags:
            aside = f".mw-{pid}-{tag}-{token}.old"
            if kind == "old" or aside in names:
                continue
        path = Path(entry.path)
        _remove(path)
        removed.append(path)
    return removed


def recover_folder(folder: str | os.PathLike) -> bool:
    """Finish a folder swap that a killed process left half done; returns whether it did.

    When ``folder`` is missing but a dead writer's complete new version (or its old version)
    lies beside it, that version is renamed back to ``folder``. Does nothing otherwise.
    """
    target = Path(os.path.abspath(folder))
    if target.exists() or not target.parent.is_dir():
        return False
    tag = _tag(target.name)
    for entry in sorted(os.scandir(target.parent), key=lambda e: e.name):
        m = _TEMP_NAME.match(entry.name)
        if m is None or m.group(4) != "old" or m.group(2) != tag:
            continue
        pid, _, token, _ = m.groups()
        if _pid_alive(int(pid)):
            continue
        # The old folder is set aside only once the new one is complete, so roll forward.
        new = target.parent / f".mw-{pid}-{tag}-{token}.new"
        source = new if new.is_dir() else Path(entry.path)
        try:
            os.rename(source, target)
        except OSError as exc:
            raise InvalidInputError(
                f"'{target}' was being replaced when its writer stopped; its content is in "
                f"'{source}', which could not be moved back ({exc}); rename it to "
                f"'{target.name}' by hand"
            ) from exc
        return True
    return False


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Stale temporary files of killed writers in that folder are removed first.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target.parent)
    tmp = target.parent / _temp_name(target, "part", secrets.token_hex(4), target.suffix[:16])
    try:
        # Created private and exclusively: nobody else can have opened it.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        yield tmp
        if tmp.is_file():
            os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination, follow_symlinks=False)
    except OSError:  # a file system without hard links
        shutil.copy2(source, destination, follow_symlinks=False)


def _carry_over(old: Path, stage: Path, replaced: Callable[[str], bool]) -> None:
    """Hard-link (or copy) the entries of ``old`` that the new content does not replace."""
    for entry in os.scandir(old):
        if replaced(entry.name) or _TEMP_NAME.match(entry.name) \
                or (stage / entry.name).exists():
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, stage / entry.name, symlinks=True,
                            copy_function=_link_or_copy)
        else:
            _link_or_copy(entry.path, str(stage / entry.name))


@contextlib.contextmanager
def atomic_folder(folder: str | os.PathLike,
                  replaced: Callable[[str], bool] = lambda name: True) -> Iterator[Path]:
    """Yield an empty staging folder; on success it takes the place of ``folder`` at once.

    Write the new content into the yielded folder. Entries of the existing ``folder`` whose
    name ``replaced(name)`` rejects are carried over (hard links, so nothing is copied), so a
    sequence saved into a folder that holds other files keeps them; the default replaces
    everything. On an exception the staging folder is removed and ``folder`` is untouched.
    Readers should call :func:`recover_folder` before reading (the loaders do). Do not write
    into ``folder`` from elsewhere while it is being replaced.
    """
    target = Path(os.path.realpath(folder))
    if target.parent == target:
        raise InvalidInputError(f"path: cannot replace the root folder '{target}'")
    if target.exists() and not target.is_dir():
        raise InvalidInputError(f"path: '{target}' is a file, expected a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(target)
    clean_stale(target.parent)
    token = secrets.token_hex(4)
    stage = target.parent / _temp_name(target, "new", token)
    aside = target.parent / _temp_name(target, "old", token)
    os.mkdir(stage, 0o700)
    try:
        yield stage
        old_exists = target.is_dir()
        if old_exists:
            _carry_over(target, stage, replaced)
        os.chmod(stage, stat.S_IMODE(target.stat().st_mode) if old_exists else _FOLDER_MODE)
        if old_exists:
            os.rename(target, aside)
        os.rename(stage, target)
    except BaseException:
        if not target.exists() and aside.is_dir():
            os.rename(aside, target)
        shutil.rmtree(stage, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)
