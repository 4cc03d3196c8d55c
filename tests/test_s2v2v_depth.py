"""A guided generation from a 16-bit reference says that its output has 8-bit samples."""

import numpy as np
import pytest

import motionwright as mw
from motionwright.errors import FidelityWarning
from motionwright.methods import backend


def test_a_16_bit_reference_warns_that_the_generation_is_8_bit(monkeypatch):
    import motionwright.methods.s2v2v.policy as policy
    import motionwright.methods.s2v2v.run as run
    import motionwright.models.loading as loading

    class Holder:
        memory = "auto"

        def get(self, family):
            return family

    monkeypatch.setattr(loading, "as_models", lambda models: Holder())
    monkeypatch.setattr(policy, "resolve_policy", lambda loaded, memory: memory)
    monkeypatch.setattr(run, "generate", lambda loaded, clip, edit, settings, **kw:
                        np.zeros((len(clip), 16, 24, 3), np.uint8))
    reference = mw.Clip.from_frames(np.zeros((3, 16, 24, 3), np.uint16), fps=24)
    edit = mw.GuidedGeneration(None, None, "a red car", box=mw.Trajectory(
        np.array([[[2, 2], [10, 10]]] * 3, np.float32), np.ones((3, 2), bool)))
    with pytest.warns(FidelityWarning, match="uint16"):
        out = backend.render_guided(reference, edit, family="zeroscope")
    assert out.dtype == np.uint8 and len(out) == 3
