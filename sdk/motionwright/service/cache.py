"""The result cache: finished renders, content-addressed, size-limited, least recently used out.

:func:`request_key` hashes everything that decides a render's pixels: the source's identity
(real path, size, modification time and a hash of some of its bytes; an upload's frame bytes),
the frame range, the edits' dict forms, the backend, the models' fingerprints (real path, sizes
and modification times of their files), the settings, the stored sample type and the
Motionwright version. An entry is ``cache/<key>/`` holding the frames (``000000.mwf``, …) and
``entry.json``; frames are hard links to a job's result files where the file system allows, so
a cached job and the cache share their bytes. Using an entry refreshes its time; when the
entries together exceed ``max_bytes`` the least recently used go first.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from .. import __version__
from .._persist import write_json
from .framefile import frame_name

DEFAULT_MAX_BYTES = 10 * 2**30
ENTRY_SCHEMA = "CacheEntry.1"
_SAMPLE_BYTES = 1 << 20  # bytes hashed from each of a media file's head, middle and tail
_MAX_LISTED = 100_000


def _file_identity(path: Path) -> dict[str, Any]:
    st = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for offset in sorted({0, max(0, st.st_size // 2 - _SAMPLE_BYTES // 2),
                              max(0, st.st_size - _SAMPLE_BYTES)}):
            fh.seek(offset)
            digest.update(fh.read(_SAMPLE_BYTES))
    return {"path": os.path.realpath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "sample_sha256": digest.hexdigest()}


def _folder_identity(folder: Path, *, content: bool = False) -> dict[str, Any]:
    """Names, sizes and times of the files in ``folder`` (recursively); with ``content``, a hash
    of their bytes instead of the times."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            st = p.stat()
            item: list[Any] = [os.path.relpath(p, folder), st.st_size]
            if content:
                item.append(hashlib.sha256(p.read_bytes()).hexdigest())
            else:
                item.append(st.st_mtime_ns)
            entries.append(item)
            if len(entries) > _MAX_LISTED:
                break
    return {"path": os.path.realpath(folder), "files": entries}


def _pattern_identity(path: Path) -> dict[str, Any]:
    """Names, sizes and times of the image files a folder or printf pattern names."""
    import re

    folder, pattern = (path, None) if path.is_dir() else (path.parent, path.name)
    regex = None
    if pattern is not None:
        parts = re.split(r"(%0?\d*d)", pattern)
        regex = re.compile("".join(r"\d+" if re.fullmatch(r"%0?\d*d", p) else re.escape(p)
                                   for p in parts) + "$")
    entries = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        if regex is not None and not regex.match(entry.name):
            continue
        st = entry.stat()
        entries.append([entry.name, st.st_size, st.st_mtime_ns])
        if len(entries) > _MAX_LISTED:
            break
    return {"path": os.path.realpath(folder), "pattern": pattern, "files": entries}


def source_identity(request) -> dict[str, Any]:
    """What identifies the pixels of ``request``'s source (see the module docstring)."""
    if request.upload_dir is not None:
        return {"upload": _folder_identity(Path(request.upload_dir), content=True),
                "fps": request.source["fps"]}
    path = Path(request.source["path"])
    if path.is_file():
        return _file_identity(path)
    return _pattern_identity(path)  # an image folder or a printf pattern


def _media_identity(path: str) -> dict[str, Any]:
    """Identity of a media file an edit reads (a reference clip), or its absence."""
    p = Path(path)
    if p.is_file():
        return _file_identity(p)
    if p.is_dir() or p.parent.is_dir():
        return _pattern_identity(p)
    return {"path": path, "missing": True}


def model_identity(request) -> dict[str, Any]:
    """Fingerprints of the model files a diffusion request uses ({} for preview)."""
    if request.backend != "diffusion":
        return {}
    from ..methods.backend import required_families
    from ..models.store import resolve_model

    out = {}
    for family in required_families(request.edit_objects()):
        explicit = (request.models or {}).get(family)
        spec = resolve_model(family, explicit)
        p = Path(spec.path)
        out[family] = _folder_identity(p) if p.is_dir() else _file_identity(p)
    return out


def request_key(request) -> str:
    """The cache key (64 hex characters) of a :class:`~.request.JobRequest`."""
    parts = {
        "version": __version__,
        "source": source_identity(request),
        "range": [request.source.get("start", 0), request.source.get("stop")],
        "edits": list(request.edits),
        "media": [_media_identity(e["reference"]) for e in request.edits
                  if isinstance(e.get("reference"), str)],
        "backend": request.backend,
        "models": model_identity(request),
        "settings": request.settings,
        "sample": request.sample,
    }
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class ResultCache:
    """The cache folder ``folder`` holding at most ``max_bytes`` of finished renders."""

    def __init__(self, folder: str | os.PathLike, max_bytes: int | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = int(max_bytes) if max_bytes is not None else DEFAULT_MAX_BYTES
        self._lock = threading.Lock()
        for stale in self.folder.glob(".tmp-*"):  # left by a killed service
            shutil.rmtree(stale, ignore_errors=True)

    def _entry(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"cache key: expected 64 hex characters, got {key!r:.80}")
        return self.folder / key

    def lookup(self, key: str) -> dict[str, Any] | None:
        """The entry of ``key`` (its ``entry.json`` plus ``path``) or None; marks it used."""
        entry = self._entry(key)
        meta = entry / "entry.json"
        with self._lock:
            try:
                info = json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            frames = int(info.get("frames", 0))
            if info.get("schema") != ENTRY_SCHEMA or not all(
                    (entry / frame_name(i)).is_file() for i in range(frames)):
                return None
            now = time.time()
            os.utime(meta, (now, now))
        info["path"] = str(entry)
        return info

    def put(self, key: str, frames_dir: Path, frames: int, sample: str) -> None:
        """Store the ``frames`` frame files of ``frames_dir`` under ``key``, then evict."""
        entry = self._entry(key)
        if entry.exists():
            return
        tmp = self.folder / f".tmp-{key}-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            for i in range(frames):
                _link_or_copy(frames_dir / frame_name(i), tmp / frame_name(i))
            write_json(tmp / "entry.json", {"schema": ENTRY_SCHEMA, "key": key,
                                            "frames": frames, "sample": sample})
            with self._lock:
                if entry.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
                    return
                os.replace(tmp, entry)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.evict(keep=key)

    def link_into(self, key: str, target: Path, frames: int) -> None:
        """Put the frames of entry ``key`` into folder ``target`` (hard links where possible)."""
        entry = self._entry(key)
        target.mkdir(parents=True, exist_ok=True)
        for i in range(frames):
            dst = target / frame_name(i)
            if not dst.exists():
                _link_or_copy(entry / frame_name(i), dst)

    def _entries(self) -> list[tuple[float, int, Path]]:
        out = []
        for entry in self.folder.iterdir():
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            size = sum(p.stat().st_size for p in entry.iterdir() if p.is_file())
            meta = entry / "entry.json"
            used = meta.stat().st_mtime if meta.exists() else 0.0
            out.append((used, size, entry))
        return out

    def evict(self, keep: str | None = None) -> int:
        """Remove least recently used entries until the total fits ``max_bytes`` (never
        ``keep``); returns the bytes freed."""
        with self._lock:
            entries = sorted(self._entries())
            total = sum(size for _, size, _ in entries)
            freed = 0
            for _, size, entry in entries:
                if total <= self.max_bytes:
                    break
                if entry.name == keep:
                    continue
                shutil.rmtree(entry, ignore_errors=True)
                total -= size
                freed += size
            return freed

    def info(self) -> dict[str, Any]:
        """``{"bytes", "max_bytes", "entries", "path"}``."""
        with self._lock:
            entries = self._entries()
        return {"bytes": sum(size for _, size, _ in entries), "max_bytes": self.max_bytes,
                "entries": len(entries), "path": str(self.folder)}

    def clear(self) -> dict[str, Any]:
        """Remove every entry; returns :meth:`info` afterwards."""
        with self._lock:
            for _, _, entry in self._entries():
                shutil.rmtree(entry, ignore_errors=True)
        return self.info()
