"""A service killed with SIGKILL resumes: every job listed, queued ones run, the interrupted
one resumes from its last finished chunk."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from service_helpers import CountingRender, drag_for, request_for

import motionwright as mw
from motionwright.service import Service, framefile
from motionwright.service.executor import LocalExecutor
from motionwright.service.store import JobStore

CHILD = Path(__file__).with_name("resume_child.py")


def test_kill_9_then_restart_resumes_from_the_last_finished_chunk(tmp_path, shot):
    path, scene = shot
    data = tmp_path / "data"
    log = tmp_path / "chunks.log"
    names = []
    for label, dx in (("first", 3), ("second", 5)):
        f = tmp_path / f"{label}.json"
        f.write_text(json.dumps(request_for(path, [drag_for(scene, dx)], label=label)))
        names.append(str(f))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, str(CHILD), str(data), str(log), "0.25", *names],
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        ids = [child.stdout.readline().strip() for _ in names]
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill once 4 chunks of the first job started
            if log.exists() and log.read_text().count("first") >= 4:
                break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    started_before = {int(line.split()[1]) for line in log.read_text().splitlines()
                      if line.startswith("first")}
    assert 4 <= len(started_before) < 6

    store = JobStore(data / "jobs.sqlite3")  # what the killed service left
    left = {j["id"]: j["state"] for j in store.list()}
    recorded = store.done_chunks(ids[0])
    store.close()
    assert left == {ids[0]: "running", ids[1]: "queued"}
    assert 1 <= len(recorded) < 6

    counting = CountingRender()
    with Service(data, workers=1, executor=LocalExecutor(1, render=counting)) as svc:
        assert [j["id"] for j in svc.jobs()] == ids  # every job listed
        views = [svc.wait(i, timeout=60) for i in ids]
        assert [v["state"] for v in views] == ["done", "done"]
        resumed = [start for (start, _), label in zip(counting.calls, counting.labels,
                                                      strict=True) if label == "first"]
        assert not set(resumed) & {start for start, _ in recorded}  # finished: not redone
        redone = started_before & set(resumed)  # begun before the kill and again after it
        assert len(redone) <= 1, (started_before, recorded, resumed)
        assert counting.labels.count("second") == 6
        clip = mw.Clip.open(path)
        for view, dx in zip(views, (3, 5), strict=True):
            got = np.stack([framefile.read_rgb(svc.frame(view["id"], i)["path"])
                            for i in range(6)])
            assert np.array_equal(got, mw.render(clip, [drag_for(scene, dx)]).to_array())
