"""The SQLite job store: WAL, chunk records, and a corrupt file that is never lost silently."""

import sqlite3

import pytest
from service_helpers import drag_for, request_for

from motionwright.errors import JobNotFoundError, ServiceError
from motionwright.service import Service
from motionwright.service.store import JobStore


def test_jobs_and_chunks_round_trip(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    mode = store._conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    store.create("a", request={"x": 1}, backend="preview", label="A", frames=3,
                 chunks_total=3, cache_key=None)
    store.create("b", request={"x": 2}, backend="diffusion", label=None, frames=1,
                 chunks_total=1, cache_key=None)
    assert store.next_queued(("diffusion",))["id"] == "b"
    assert store.next_queued(("diffusion",)) is None
    store.chunk_done("a", 1, 2, progress={"done": 1}, eta=2.0, preview=1)
    assert store.done_chunks("a") == [(1, 2)] and store.get("a")["progress"] == {"done": 1}
    assert store.requeue_interrupted() == ["b"]
    assert [j["state"] for j in store.list()] == ["queued", "queued"]
    store.delete("a")
    with pytest.raises(JobNotFoundError, match="'a'"):
        store.get("a")
    assert store.done_chunks("a") == []
    store.close()


def test_a_corrupt_database_is_a_clear_error_then_moved_aside(tmp_path, shot):
    path, scene = shot
    data = tmp_path / "data"
    with Service(data, workers=1) as svc:
        job = svc.wait(svc.submit(request_for(path, [drag_for(scene)], label="keep"))["id"],
                       timeout=60)
    db = data / "jobs.sqlite3"
    db.write_bytes(b"this is not an SQLite database" * 100)
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    with pytest.raises(ServiceError) as info:
        Service(data).start()
    text = str(info.value)
    assert str(db) in text and "recover" in text and "corrupt" in text
    assert db.read_bytes().startswith(b"this is not")  # nothing touched
    with Service(data, recover=True) as svc:
        aside = list(data.glob("jobs.sqlite3.corrupt-*"))
        assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
        listed = svc.jobs()  # the job comes back from its result folder
        assert [j["id"] for j in listed] == [job["id"]] and listed[0]["label"] == "keep"
        again = svc.wait(job["id"], timeout=60)
        assert again["state"] == "done" and again["chunks"]["done"] == 6
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    conn.close()
