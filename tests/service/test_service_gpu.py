"""Diffusion jobs: one at a time on the GPU thread, models kept loaded, out-of-memory contained."""

import time

import numpy as np
import pytest
from service_helpers import drag_for, request_for

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from motionwright.models import OutOfMemoryError as RuntimeOOM
from motionwright.models import loading
from motionwright.service import Service, framefile
from motionwright.service.chunks import render_chunk
from motionwright.service.executor import LocalExecutor
from tiny_models import tiny_model

FAST = {"size": [32, 32], "steps": 10, "levels": [8, 7, 5, 4], "iterations": 2,
        "lora_steps": 0, "correspondence": "flow", "segmenter": "none", "dift_ensemble": 1}


def diffusion_request(path, scene, dx=3, label=None):
    return {**request_for(path, [drag_for(scene, dx)], label=label), "backend": "diffusion",
            "models": {"sd15": str(tiny_model("sd15"))}, "settings": dict(FAST),
            "source": {"path": path, "start": 0, "stop": 3}}


@pytest.fixture
def load_counter(monkeypatch):
    loads = []
    real = loading.load_model

    def counted(*args, **kwargs):
        loads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(loading, "load_model", counted)
    return loads


def test_jobs_of_one_family_load_the_model_once(tmp_path, shot, load_counter):
    path, scene = shot
    held = []

    def render(request, start, stop, *, models=None, progress=None, cancel=None):
        held.append(models.get("sd15"))  # what a diffusion method asks for first
        return np.stack([request.open_clip()[i] for i in range(start, stop)])

    with Service(tmp_path / "d", executor=LocalExecutor(2, render=render)) as svc:
        ids = [svc.submit(diffusion_request(path, scene, dx))["id"] for dx in (2, 4)]
        views = [svc.wait(i, timeout=120) for i in ids]
    assert [v["state"] for v in views] == ["done", "done"], [v["error"] for v in views]
    assert [v["chunks"] for v in views] == [{"done": 1, "total": 1}] * 2
    assert len(held) == 2 and held[0] is held[1]
    assert len(load_counter) == 1  # the second job did not reload


def test_out_of_memory_fails_that_job_and_the_service_goes_on(tmp_path, shot):
    path, scene = shot

    class OutOfMemoryError(RuntimeError):  # what torch.cuda raises, by name
        pass

    def render(request, start, stop, *, models=None, progress=None, cancel=None):
        if request.label == "huge":
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        if request.label == "translated":  # a method that already says what to try
            raise RuntimeOOM("cuda:0 ran out of memory while dragging; try --memory lowvram")
        return np.stack([request.open_clip()[i] for i in range(start, stop)])

    with Service(tmp_path / "d", executor=LocalExecutor(1, render=render)) as svc:
        huge = svc.submit(diffusion_request(path, scene, 2, label="huge"))
        after = svc.submit(diffusion_request(path, scene, 4, label="after"))
        failed = svc.wait(huge["id"], timeout=60)
        assert failed["state"] == "failed" and failed["error"]["error"] == "out_of_memory"
        assert "ran out of memory" in failed["error"]["message"]
        assert "memory policy" in failed["error"]["message"]
        assert svc.wait(after["id"], timeout=60)["state"] == "done"
        told = svc.wait(svc.submit(diffusion_request(path, scene, 6, label="translated"))["id"],
                        timeout=60)
        assert told["error"] == {"error": "out_of_memory", "message": (
            "cuda:0 ran out of memory while dragging; try --memory lowvram")}


@pytest.mark.slow
def test_a_diffusion_drag_through_the_service_equals_the_chunk_render(tmp_path, shot,
                                                                     load_counter):
    path, scene = shot
    with Service(tmp_path / "d", workers=1) as svc:
        start = time.perf_counter()
        first = svc.wait(svc.submit(diffusion_request(path, scene, 3))["id"], timeout=600)
        assert first["state"] == "done", first["error"]
        second = svc.wait(svc.submit(diffusion_request(path, scene, 5))["id"], timeout=600)
        assert second["state"] == "done", second["error"]
        print(f"two tiny diffusion drags: {time.perf_counter() - start:.1f} s")
        got = np.stack([framefile.read_rgb(svc.frame(first["id"], i)["path"])
                        for i in range(3)])
    assert load_counter.count("sd15") == 1 or len(load_counter) == 1
    from motionwright.service.request import parse_request

    request = parse_request(diffusion_request(path, scene, 3), data_dir=tmp_path / "d")
    expected = render_chunk(request, 0, 3, models=loading.Models(request.models))
    assert np.array_equal(got, expected)
