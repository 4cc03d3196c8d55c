"""Replacing a folder whole (a PNG sequence, say), safe against the writer being killed.

The new content is written to a staging folder beside the target; then the old folder is
renamed aside, the staging folder renamed in, and the old one removed. A process killed at any
point leaves the target wholly old or wholly new: if it dies between the two renames,
:func:`recover_folder` (run by the loaders, and before every folder save) puts the complete
folder back in place. Temporaries follow :mod:`motionwright._persist`'s naming, so the next
save in the same place removes what a killed writer left.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from ._persist import FOLDER_MODE, TEMP_NAME, clean_stale, name_tag, pid_alive, temp_name
from .errors import CorruptFileError, InvalidInputError


def recover_folder(folder: str | os.PathLike) -> bool:
    """Finish a folder swap that a killed process left half done; returns whether it did.

    When ``folder`` is missing but a dead writer's complete new version (or its old version)
    lies beside it, that version is renamed back to ``folder``. Does nothing otherwise.
    """
    target = Path(os.path.abspath(folder))
    if target.exists() or not target.parent.is_dir():
        return False
    tag = name_tag(target.name)
    for entry in sorted(os.scandir(target.parent), key=lambda e: e.name):
        m = TEMP_NAME.match(entry.name)
        if m is None or m.group(4) != "old" or m.group(2) != tag:
            continue
        pid, _, token, _ = m.groups()
        if pid_alive(int(pid)):
            continue
        # The old folder is set aside only once the new one is complete, so roll forward.
        new = target.parent / f".mw-{pid}-{tag}-{token}.new"
        source = new if new.is_dir() else Path(entry.path)
        try:
            os.rename(source, target)
        except OSError as exc:
            raise CorruptFileError(
                f"'{target}' was being replaced when its writer stopped; its content is in "
                f"'{source}', which could not be moved back ({exc}); rename it to "
                f"'{target.name}' by hand"
            ) from exc
        return True
    return False


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination, follow_symlinks=False)
    except OSError:  # a file system without hard links
        shutil.copy2(source, destination, follow_symlinks=False)


def _carry_over(old: Path, stage: Path, replaced: Callable[[str], bool]) -> None:
    """Hard-link (or copy) the entries of ``old`` that the new content does not replace."""
    for entry in os.scandir(old):
        if replaced(entry.name) or TEMP_NAME.match(entry.name) \
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
    stage = target.parent / temp_name(target, "new", token)
    aside = target.parent / temp_name(target, "old", token)
    os.mkdir(stage, 0o700)
    try:
        yield stage
        old_exists = target.is_dir()
        if old_exists:
            _carry_over(target, stage, replaced)
        os.chmod(stage, stat.S_IMODE(target.stat().st_mode) if old_exists else FOLDER_MODE)
        if old_exists:
            os.rename(target, aside)
        os.rename(stage, target)
    except BaseException:
        if not target.exists() and aside.is_dir():
            os.rename(aside, target)
        shutil.rmtree(stage, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)
