"""Drag-A-Video memory: lazy frames at full resolution, VRAM estimates, memory policies."""

import tracemalloc
import weakref
from fractions import Fraction

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

import motionwright as mw  # noqa: E402
from motionwright.edits import DragEdit  # noqa: E402
from motionwright.methods.dragavideo import DragSettings, drag_clip  # noqa: E402
from motionwright.methods.dragavideo import policy as dv_policy  # noqa: E402
from motionwright.methods.dragavideo import run as dv_run  # noqa: E402
from motionwright.models import load_model  # noqa: E402
from motionwright.models.errors import OutOfMemoryError  # noqa: E402
from motionwright.models.estimate import estimate_drag  # noqa: E402
from tiny_models import tiny_model  # noqa: E402

FAST = dict(size=(32, 32), steps=10, levels=(8, 7, 5, 4), lora_steps=0, segmenter="none",
            dift_ensemble=1, correspondence="flow", iterations=2)


@pytest.fixture(scope="module")
def sd15():
    return load_model("sd15", tiny_model("sd15"), device="cpu")


class LargeFrames:
    """A 1920×1080 FrameSource computing each frame on read (a red square moving right);
    counts how many frames it handed out are alive at once."""

    fps = Fraction(24)
    size = (1920, 1080)
    start_timecode = None
    dtype = np.uint8

    def __init__(self, count: int) -> None:
        self.count = count
        self.live: list = []
        self.most_alive = 0

    def __len__(self) -> int:
        return self.count

    def frame(self, index: int) -> np.ndarray:
        w, h = self.size
        f = np.empty((h, w, 3), np.uint8)
        f[..., 0] = (np.arange(w) * 7 % 251).astype(np.uint8)[None]
        f[..., 1] = (np.arange(h) * 5 % 241).astype(np.uint8)[:, None]
        f[..., 2] = 40
        f[500:560, 900 + 4 * index:960 + 4 * index] = (220, 30, 30)
        return f

    def read(self, index: int) -> np.ndarray:
        f = self.frame(index)
        self.live = [r for r in self.live if r() is not None] + [weakref.ref(f)]
        self.most_alive = max(self.most_alive, len(self.live))
        return f


def _still(points, key, span):
    """Correspondences that keep every point in place (the propagation is tested elsewhere)."""
    return np.repeat(points[None], len(span), 0), np.ones((len(span), len(points)), bool)


def test_a_large_clip_with_a_small_drag_holds_a_few_full_frames(sd15, monkeypatch):
    import motionwright.propagation.dragavideo as prop_module

    original = prop_module.propagate_drag
    monkeypatch.setattr(prop_module, "propagate_drag",
                        lambda *a, **k: original(*a, **{**k, "correspond": _still}))
    source = LargeFrames(10)
    clip = mw.Clip.from_source(source)
    mask = mw.Mask.from_box(860, 460, 200, 140, clip.size)
    edit = DragEdit(mw.PointSet([[930, 530]]), mw.PointSet([[950, 530]]), mask)
    frame_bytes = 1920 * 1080 * 3
    tracemalloc.start()
    try:
        res = drag_clip(sd15, clip, edit, DragSettings(**FAST))
        _, run_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        count = sum(1 for _ in res.clip)  # streams: one result frame at a time
        _, out_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 10
    x0, y0, x1, y1 = res.box
    assert (x1 - x0) * (y1 - y0) < 0.1 * 1920 * 1080  # the region, not the frame
    changed = 0
    for t, got in enumerate(res.clip):
        want = source.frame(t)
        for a, b in ((got[:y0], want[:y0]), (got[y1:], want[y1:]),
                     (got[y0:y1, :x0], want[y0:y1, :x0]), (got[y0:y1, x1:], want[y0:y1, x1:])):
            assert np.array_equal(a, b)
        if t == 0:
            key = mask.at(0)
            assert np.array_equal(got[~key], want[~key])
        changed += int(not np.array_equal(got[y0:y1, x0:x1], want[y0:y1, x0:x1]))
    assert changed > 0
    assert res.clip.size == (1920, 1080) and len(res.clip) == 10
    # Every frame at once would be 10 frames (and a copy); a run or a read holds about 3.
    assert run_peak < 4 * frame_bytes, run_peak / frame_bytes
    assert out_peak < 5 * frame_bytes, out_peak / frame_bytes
    assert source.most_alive <= 3


def _estimates(sd15, names=("gpu", "balanced", "lowvram"), **kw):
    pipe = sd15.pipeline
    args = dict(frames=8, latent_hw=(16, 16), dtype=torch.float32, levels=4)
    args.update(kw)
    return {name: estimate_drag(pipe.unet, pipe.vae, pipe.text_encoder, policy=name,
                                frame_batch={"gpu": 8, "balanced": 4, "lowvram": 1}[name],
                                **args) for name in names}


def test_estimate_orders_the_policies_and_counts_lora(sd15):
    est = _estimates(sd15)
    assert est["gpu"].peak_bytes > est["balanced"].peak_bytes > est["lowvram"].peak_bytes > 0
    weights = sum(p.numel() * 4 for p in sd15.pipeline.unet.parameters())
    assert est["lowvram"].parts["unet weights"] == weights
    assert "text encoder + vae weights" in est["gpu"].parts
    assert "text encoder + vae weights" not in est["balanced"].parts
    with_lora = _estimates(sd15, ("lowvram",), lora=True, frames=1)
    plain = _estimates(sd15, ("lowvram",), frames=1)
    assert with_lora["lowvram"].peak_bytes > plain["lowvram"].peak_bytes
    assert "gpu:" in est["gpu"].describe()
    bigger = _estimates(sd15, ("balanced",), latent_hw=(32, 32))
    assert bigger["balanced"].peak_bytes > est["balanced"].peak_bytes


def _small_scene():
    from motionwright.synthetic import make_moving_objects

    syn = make_moving_objects(3, (48, 40), seed=3, num_objects=1, max_speed=2)
    h = syn.tracks[0, 0]
    edit = DragEdit(mw.PointSet([h], frame=0), mw.PointSet([h + np.array([6, 0])], frame=0))
    return syn, mw.Clip.from_frames(syn.frames), edit


@pytest.mark.parametrize("memory, batch, checkpointed", [
    ("gpu", 3, False), ("balanced", 3, True), ("lowvram", 1, True)])
def test_the_policy_settings_reach_the_run(sd15, memory, batch, checkpointed):
    _, clip, edit = _small_scene()
    res = drag_clip(sd15, clip, edit, DragSettings(**{**FAST, "iterations": 1}), memory=memory)
    assert res.memory == memory and res.frame_batch == batch
    assert (res.checkpointed > 0) == checkpointed
    assert res.vae_chunk == {"gpu": 3, "balanced": 3, "lowvram": 1}[memory]
    assert res.estimate_bytes is None  # the CPU has no memory budget to check


def test_auto_picks_the_fastest_policy_that_fits(sd15, monkeypatch):
    import motionwright.models.device as device_module

    _, clip, edit = _small_scene()
    settings = DragSettings(**{**FAST, "iterations": 1})
    est = dv_policy.drag_estimates(sd15, clip, 0, settings)
    assert est["gpu"].peak_bytes > est["balanced"].peak_bytes > est["lowvram"].peak_bytes
    free = int(est["balanced"].peak_bytes / 0.9) + 1
    monkeypatch.setattr(dv_policy, "drag_estimates", lambda *_a, **_k: est)
    monkeypatch.setattr(device_module, "memory_available", lambda _device: (free, 2 * free))
    res = drag_clip(sd15, clip, edit, settings)
    assert res.memory == "balanced" and res.checkpointed > 0
    assert res.estimate_bytes == est["balanced"].peak_bytes
    monkeypatch.setattr(device_module, "memory_available", lambda _device: (1024, 2048))
    with pytest.raises(OutOfMemoryError, match="lowvram"):
        drag_clip(sd15, clip, edit, settings)


def test_out_of_memory_in_the_run_names_the_next_policy(sd15, monkeypatch):
    _, clip, edit = _small_scene()

    def boom(*_a, **_k):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(dv_run, "optimise", boom)
    with pytest.raises(OutOfMemoryError, match="--memory balanced"):
        drag_clip(sd15, clip, edit, DragSettings(**FAST), memory="gpu")


def test_bad_memory_policy_is_a_typed_error(sd15):
    from motionwright.errors import InvalidInputError

    _, clip, edit = _small_scene()
    with pytest.raises(InvalidInputError, match="memory"):
        drag_clip(sd15, clip, edit, DragSettings(**FAST), memory="huge")
