"""The Ray farm: a project's shots rendered on a local Ray instance (2 CPUs, started once for
this module) equal the local render, with the preview backend and a tiny diffusion model;
cache, resume and cancel hold as in the local service."""

from __future__ import annotations

import numpy as np
import pytest

import motionwright as mw
from motionwright.cli.main import main
from motionwright.service import Service, framefile
from motionwright.service.executor import LocalExecutor
from motionwright.service.farm import RayExecutor
from motionwright.service.request import parse_request
from motionwright.synthetic import make_moving_objects

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow  # starting Ray takes tens of seconds on a small machine

SIZE = (40, 32)


@pytest.fixture(scope="module")
def cluster():
    """A local Ray instance with 2 CPUs for the whole module."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Two tiny PNG-sequence shots and a drag of each one's first object: ``[(path, edit)]``."""
    folder = tmp_path_factory.mktemp("farm-shots")
    out = []
    for n, seed in enumerate((1, 2)):
        scene = make_moving_objects(5 + n, SIZE, seed=seed, num_objects=1, max_speed=1)
        path = folder / f"shot{n}" / "f.%03d.png"
        path.parent.mkdir()
        mw.Clip.from_frames(scene.frames).save(path, codec="png")
        x, y = map(float, scene.tracks[0, 0])
        out.append((str(path), mw.DragEdit(mw.PointSet([[x, y]]), mw.PointSet([[x + 3, y]]))))
    return out


def _frames(service: Service, job_id: str) -> np.ndarray:
    view = service.job(job_id)
    return np.stack([framefile.read_frame(service.frame(job_id, i)["path"])
                     for i in range(view["frames"])])


def test_project_render_on_ray_equals_the_local_render(cluster, shots, tmp_path, monkeypatch,
                                                       capsys):
    monkeypatch.setenv("MOTIONWRIGHT_DATA_DIR", str(tmp_path / "data"))
    project = mw.Project()
    for path, edit in shots:
        ref = project.add_clip(path)
        project.add_edit(ref.id, edit)
    project.save(tmp_path / "p.mwproj")
    args = [str(tmp_path / "p.mwproj"), "--codec", "png"]
    assert main(["render", *args, "-o", str(tmp_path / "local")]) == 0
    assert main(["render", *args, "-o", str(tmp_path / "farm"), "--ray", "local"]) == 0
    assert "(cached)" not in capsys.readouterr().out
    folders = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert len(folders) == 2 and folders == sorted(p.name for p in (tmp_path / "farm").iterdir())
    for name in folders:
        a = mw.Clip.open(tmp_path / "local" / name / "frame.%04d.png").to_array()
        b = mw.Clip.open(tmp_path / "farm" / name / "frame.%04d.png").to_array()
        assert a.shape == b.shape and np.array_equal(a, b)
    # The same command again: every shot comes from the farm's result cache.
    assert main(["render", *args, "-o", str(tmp_path / "again"), "--ray", "local"]) == 0
    assert capsys.readouterr().out.count("(cached)") == 2
    assert ray.is_initialized()  # a cluster the command did not start stays up


def test_interrupted_farm_job_resumes_from_its_finished_chunks(cluster, shots, tmp_path):
    path, edit = shots[1]
    request = {"source": {"path": path}, "edits": [edit.to_dict()], "backend": "preview"}
    data = tmp_path / "data"
    with Service(data, executor=RayExecutor("local")) as service:
        job_id = service.submit(request)["id"]
        assert service.wait(job_id, timeout=120)["state"] == "done"
        expected = _frames(service, job_id)
    # Forget the last two chunks, as if the server had been killed before recording them.
    import sqlite3

    db = sqlite3.connect(data / "jobs.sqlite3")
    db.execute("UPDATE jobs SET state = 'running' WHERE id = ?", (job_id,))
    db.execute("DELETE FROM chunks WHERE job_id = ? AND start >= 4", (job_id,))
    db.commit()
    db.close()
    for i in (4, 5):
        (data / "jobs" / job_id / framefile.frame_name(i)).unlink()
    calls = []
    executor = RayExecutor("local")
    submit = executor.submit
    executor.submit = lambda req, a, b, *rest: calls.append((a, b)) or submit(req, a, b, *rest)
    with Service(data, executor=executor) as service:
        view = service.wait(job_id, timeout=120)
        assert view["state"] == "done"
        assert sorted(calls) == [(4, 5), (5, 6)]  # only the lost chunks were rendered again
        assert np.array_equal(_frames(service, job_id), expected)


def test_cancel_stops_a_farm_job(cluster, shots, tmp_path):
    path, edit = shots[0]
    request = {"source": {"path": path}, "edits": [edit.to_dict()], "backend": "preview"}
    executor = RayExecutor("local")
    token = mw.CancelToken()
    token.cancel()
    req = parse_request(request)
    future = executor.submit(req, 0, 1, None, token)
    with pytest.raises(mw.errors.Cancelled):
        future.result(timeout=60)
    ok = executor.submit(req, 1, 3, None, None).result(timeout=60)
    assert ok.shape == (2, SIZE[1], SIZE[0], 3)
    executor.close()
    with pytest.raises(mw.errors.MotionwrightError, match="closed"):
        executor.submit(req, 0, 1, None, None)


def test_serve_with_ray_runs_its_chunks_on_the_cluster(cluster, shots, tmp_path):
    from motionwright.service.server import _make_service

    path, edit = shots[0]
    service = _make_service(tmp_path / "data", 2, None, "local").start()
    try:
        assert isinstance(service._executor, RayExecutor)
        job_id = service.submit({"source": {"path": path}, "edits": [edit.to_dict()],
                                 "backend": "preview"})["id"]
        assert service.wait(job_id, timeout=120)["state"] == "done"
    finally:
        service.stop()
    assert ray.is_initialized()


@pytest.fixture(scope="module")
def diffusion_shot(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from tiny_models import tiny_model

    folder = tmp_path_factory.mktemp("farm-diffusion")
    scene = make_moving_objects(2, (32, 32), seed=5, num_objects=1, max_speed=2)
    path = folder / "f.%03d.png"
    mw.Clip.from_frames(scene.frames).save(path, codec="png")
    x, y = map(float, scene.tracks[0, 0])
    edit = mw.DragEdit(mw.PointSet([[x, y]]), mw.PointSet([[x + 5, y]]))
    return str(path), edit, str(tiny_model("sd15"))


def test_diffusion_shots_on_a_ray_actor_equal_the_local_render_and_load_once(
        cluster, diffusion_shot, tmp_path):
    path, edit, model = diffusion_shot
    settings = {"size": [32, 32], "steps": 4, "levels": [3], "iterations": 1,
                "lora_steps": 0, "correspondence": "flow"}
    requests = [{"source": {"path": path}, "edits": [edit.to_dict()], "backend": "diffusion",
                 "models": {"sd15": model}, "settings": dict(settings, seed=seed),
                 "label": f"shot{seed}"} for seed in (0, 1)]
    with Service(tmp_path / "local", executor=LocalExecutor(1)) as service:
        ids = [service.submit(r)["id"] for r in requests]
        local = []
        for job_id in ids:
            assert service.wait(job_id, timeout=600)["state"] == "done"
            local.append(_frames(service, job_id))
    import torch

    executor = RayExecutor("local", threads=torch.get_num_threads())
    assert executor.gpu is False and executor.actors_wanted == 1  # no GPU here: a CPU actor
    with Service(tmp_path / "farm", executor=executor) as service:
        ids = [service.submit(r)["id"] for r in requests]
        for job_id, expected in zip(ids, local, strict=True):
            view = service.wait(job_id, timeout=600)
            assert view["state"] == "done", view["error"]
            assert np.array_equal(_frames(service, job_id), expected)
        stats = executor.actor_stats()
    assert [s["loads"] for s in stats] == [1]  # the second shot reused the loaded model
    assert stats[0]["key"].startswith("sd15|")
