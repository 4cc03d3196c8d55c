"""The job store: an SQLite database (stdlib ``sqlite3``, WAL) in the service's data folder.

One row per job (its request as JSON, state, progress, error, counts) and one row per finished
chunk. A chunk row is written only after every frame of the chunk is on disk, so after a crash
the chunk rows say exactly what need not be rendered again. One connection is shared by all
threads behind a lock; every change is its own transaction.

A database file that SQLite cannot read raises :class:`~motionwright.errors.ServiceError` naming
the file and the recovery; ``JobStore(path, recover=True)`` moves such a file aside (with its
``-wal`` and ``-shm`` companions) to ``jobs.sqlite3.corrupt-<UTC time>`` and starts empty.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import JobNotFoundError, ServiceError

SCHEMA = "JobStore.1"
STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL_STATES = ("done", "failed", "cancelled")

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    state TEXT NOT NULL,
    label TEXT,
    backend TEXT NOT NULL,
    request TEXT NOT NULL,
    cache_key TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    frames INTEGER NOT NULL,
    chunks_total INTEGER NOT NULL,
    progress TEXT,
    eta REAL,
    error TEXT,
    cached INTEGER NOT NULL DEFAULT 0,
    preview INTEGER,
    output_file TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    job_id TEXT NOT NULL,
    start INTEGER NOT NULL,
    stop INTEGER NOT NULL,
    finished TEXT NOT NULL,
    PRIMARY KEY (job_id, start)
);
"""
_COLUMNS = ("id", "state", "label", "backend", "request", "cache_key", "created", "updated",
            "frames", "chunks_total", "progress", "eta", "error", "cached", "preview",
            "output_file")
_JSON_COLUMNS = ("request", "progress", "error")
# Every read of a job also counts its finished chunks ("chunks_done").
_SELECT = (f"SELECT {', '.join(_COLUMNS)}, "
           "(SELECT COUNT(*) FROM chunks WHERE chunks.job_id = jobs.id) FROM jobs")


def utc_now() -> str:
    """The current UTC time in ISO 8601 with a ``Z`` suffix (millisecond precision)."""
    now = _dt.datetime.now(_dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class JobStore:
    """The jobs and finished chunks of one data folder (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, *, recover: bool = False) -> None:
        self.path = Path(path)
        self.recovered_from: Path | None = None
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as exc:
            if not recover:
                raise ServiceError(
                    f"the job database '{self.path}' cannot be read ({exc}); start the service "
                    f"with recover=True (motionwright serve --recover) to move it aside to "
                    f"'{self.path.name}.corrupt-<time>' and start with an empty job list "
                    f"(jobs whose result folders survive are listed again)") from exc
            self.recovered_from = self._move_aside()
            self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                               timeout=30.0)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {check[0] if check else '?'}")
            conn.executescript(_TABLES)
            row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
            elif row[0] != SCHEMA:
                raise ServiceError(
                    f"the job database '{self.path}' has schema {row[0]!r}; this Motionwright "
                    f"reads {SCHEMA!r}; use the Motionwright that wrote it or move it aside")
        except BaseException:
            conn.close()
            raise
        return conn

    def _move_aside(self) -> Path:
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):
            companion = self.path.with_name(self.path.name + suffix)
            if companion.exists():
                os.replace(companion, target.with_name(target.name + suffix))
        return target

    @contextlib.contextmanager
    def _transaction(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock: committed on success, rolled back on any error.
        ``immediate`` takes the write lock at once, so another process on the same database
        cannot interleave (e.g. take the same job)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    # -- jobs ---------------------------------------------------------------------------------

    def create(self, job_id: str, *, request: dict[str, Any], backend: str, label: str | None,
               frames: int, chunks_total: int, cache_key: str | None, state: str = "queued",
               cached: bool = False, output_file: str | None = None,
               progress: dict[str, Any] | None = None) -> None:
        """Insert a new job row."""
        now = utc_now()
        with self._lock:
            self._conn.execute(
                "INSERT INTO jobs (id, state, label, backend, request, cache_key, created, "
                "updated, frames, chunks_total, progress, cached, output_file) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (job_id, state, label, backend, json.dumps(request), cache_key, now, now,
                 frames, chunks_total, json.dumps(progress) if progress else None,
                 int(cached), output_file))

    def get(self, job_id: str) -> dict[str, Any]:
        """The row of ``job_id`` as a dict (JSON columns decoded, ``chunks_done`` counted);
        JobNotFoundError if none."""
        with self._lock:
            row = self._conn.execute(
                f"{_SELECT} WHERE id=?", (str(job_id),)).fetchone()
        if row is None:
            raise JobNotFoundError(f"job: no job with id {str(job_id)!r:.80}")
        return _decode(row)

    def list(self, state: str | None = None) -> list[dict[str, Any]]:
        """Every job (oldest first), or those in ``state``."""
        query = _SELECT
        args: tuple = ()
        if state is not None:
            query += " WHERE state=?"
            args = (state,)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY seq", args).fetchall()
        return [_decode(r) for r in rows]

    def update(self, job_id: str, **fields: Any) -> None:
        """Set columns of ``job_id`` (JSON columns take dicts) and its ``updated`` time."""
        names = [k for k in fields if k in _COLUMNS and k != "id"]
        if len(names) != len(fields):
            raise ValueError(f"unknown job columns: {sorted(set(fields) - set(names))}")
        values = [json.dumps(fields[k]) if k in _JSON_COLUMNS and fields[k] is not None
                  else fields[k] for k in names]
        sets = ", ".join(f"{k}=?" for k in [*names, "updated"])
        with self._lock:
            self._conn.execute(f"UPDATE jobs SET {sets} WHERE id=?",
                               (*values, utc_now(), job_id))

    def next_queued(self, backends: tuple[str, ...]) -> dict[str, Any] | None:
        """Atomically take the oldest queued job of one of ``backends``: it becomes running."""
        marks = ",".join("?" * len(backends))
        with self._transaction(immediate=True) as conn:
            row = conn.execute(
                f"{_SELECT} WHERE state='queued' AND backend IN ({marks}) ORDER BY seq "
                "LIMIT 1", backends).fetchone()
            if row is not None:
                conn.execute("UPDATE jobs SET state='running', updated=? WHERE id=?",
                             (utc_now(), row[0]))
        if row is None:
            return None
        job = _decode(row)
        job["state"] = "running"
        return job

    def cancel_queued(self, job_id: str, error: dict[str, Any]) -> bool:
        """Mark ``job_id`` cancelled if it is still queued (atomically, so a worker cannot
        take it meanwhile); returns whether it was."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE jobs SET state='cancelled', error=?, eta=NULL, updated=? "
                "WHERE id=? AND state='queued'", (json.dumps(error), utc_now(), job_id))
            return cur.rowcount == 1

    def requeue_interrupted(self) -> list[str]:
        """Put jobs left ``running`` by a stopped or killed service back in the queue."""
        with self._transaction(immediate=True) as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT id FROM jobs WHERE state='running' ORDER BY seq")]
            conn.execute("UPDATE jobs SET state='queued', updated=? WHERE state='running'",
                         (utc_now(),))
        return ids

    def delete(self, job_id: str) -> None:
        """Remove ``job_id`` and its chunk rows."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM chunks WHERE job_id=?", (job_id,))
            conn.execute("DELETE FROM jobs WHERE id=?", (job_id,))

    # -- chunks -------------------------------------------------------------------------------

    def chunk_done(self, job_id: str, start: int, stop: int, *, progress: dict[str, Any],
                   eta: float | None, preview: int) -> None:
        """Record chunk ``[start, stop)`` of ``job_id`` finished (its frames are on disk), with
        the job's progress, in one transaction."""
        now = utc_now()
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO chunks VALUES (?,?,?,?)",
                         (job_id, start, stop, now))
            conn.execute("UPDATE jobs SET progress=?, eta=?, preview=?, updated=? WHERE id=?",
                         (json.dumps(progress), eta, preview, now, job_id))

    def done_chunks(self, job_id: str) -> list[tuple[int, int]]:
        """The finished chunks of ``job_id`` as ``(start, stop)`` pairs, in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT start, stop FROM chunks WHERE job_id=? ORDER BY start", (job_id,))
            return [(int(a), int(b)) for a, b in rows]

    def count_chunks(self, job_id: str) -> int:
        """How many chunks of ``job_id`` are finished."""
        with self._lock:
            return int(self._conn.execute(
                "SELECT COUNT(*) FROM chunks WHERE job_id=?", (job_id,)).fetchone()[0])


def _decode(row: tuple) -> dict[str, Any]:
    job = dict(zip((*_COLUMNS, "chunks_done"), row, strict=True))
    for key in _JSON_COLUMNS:
        if job[key] is not None:
            job[key] = json.loads(job[key])
    job["cached"] = bool(job["cached"])
    return job
