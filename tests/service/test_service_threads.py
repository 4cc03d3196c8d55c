"""The Service from several threads at once, and stopping with and without draining."""

import threading
import time

from service_helpers import CountingRender, drag_for, request_for

from motionwright.service import Service
from motionwright.service.executor import LocalExecutor


def test_several_clients_at_once(tmp_path, shot):
    path, scene = shot
    ids: list[str] = []
    errors: list[BaseException] = []
    with Service(tmp_path / "d", workers=2) as svc:
        def client(k: int) -> None:
            try:
                for j in range(3):
                    job = svc.submit({**request_for(path, [drag_for(scene, 1 + k + j / 4)]),
                                      "source": {"path": path, "start": 0, "stop": 2}})
                    ids.append(job["id"])
                    svc.jobs()
                    svc.job(job["id"])
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        views = [svc.wait(i, timeout=60) for i in ids]
    assert len(set(ids)) == 12 and all(v["state"] == "done" for v in views)


def test_stop_without_drain_requeues_and_with_drain_finishes(tmp_path, shot):
    path, scene = shot
    slow = CountingRender(delay=0.1)
    svc = Service(tmp_path / "d", workers=1, executor=LocalExecutor(1, render=slow)).start()
    job = svc.submit(request_for(path, [drag_for(scene)]))
    while len(slow.calls) < 2:
        time.sleep(0.01)
    svc.stop(drain=False)
    slow2 = CountingRender(delay=0.1)
    svc = Service(tmp_path / "d", workers=1, executor=LocalExecutor(1, render=slow2)).start()
    view = svc.job(job["id"])
    assert view["state"] in ("queued", "running") and view["chunks"]["done"] >= 1
    while not slow2.calls:
        time.sleep(0.01)
    svc.stop(drain=True)  # the running job finishes first
    svc = Service(tmp_path / "d", workers=1).start()
    try:
        done = svc.job(job["id"])
        assert done["state"] == "done" and done["chunks"]["done"] == 6
        # a chunk interrupted mid-render is the only one rendered twice
        assert len(slow.completed) + len(slow2.completed) <= 6 + 1
    finally:
        svc.stop()


def test_a_job_whose_source_changed_is_not_resumed(tmp_path, shot):
    import shutil

    import motionwright as mw

    path, scene = shot
    media = tmp_path / "media"
    shutil.copytree(path.rsplit("/", 1)[0], media)
    own = str(media / "shot.%03d.png")
    slow = CountingRender(delay=0.1)
    svc = Service(tmp_path / "d", workers=1, executor=LocalExecutor(1, render=slow)).start()
    job = svc.submit(request_for(own, [drag_for(scene)]))
    while len(slow.completed) < 2:
        time.sleep(0.01)
    svc.stop(drain=False)
    mw.Clip.from_frames(scene.frames[::-1].copy()).save(own, codec="png")  # new frames
    with Service(tmp_path / "d", workers=1) as svc:
        failed = svc.wait(job["id"], timeout=60)
    assert failed["state"] == "failed" and "changed since it started" in failed["error"][
        "message"]


def test_an_executor_asking_for_two_cpu_lanes_runs_two_jobs_at_once(tmp_path, shot):
    path, scene = shot
    both = threading.Barrier(2, timeout=20)
    entered: set[str] = set()

    def render(request, start, stop, **kw):
        from motionwright.service.chunks import render_chunk

        if request.label not in entered:
            entered.add(request.label)
            both.wait()  # breaks (and fails the job) unless the other job runs meanwhile
        return render_chunk(request, start, stop, **kw)

    executor = LocalExecutor(2, render=render)
    executor.lanes = {"cpu": 2}
    with Service(tmp_path / "d", executor=executor) as svc:
        ids = [svc.submit(request_for(path, [drag_for(scene, dx)], label=str(dx)))["id"]
               for dx in (2, 4)]
        views = [svc.wait(i, timeout=60) for i in ids]
    assert [v["state"] for v in views] == ["done", "done"], [v["error"] for v in views]
