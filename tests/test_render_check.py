"""check_render: a render that cannot start says so at once, naming the model family it needs."""

import os
import subprocess
import sys
import textwrap
from fractions import Fraction

import numpy as np
import pytest

import motionwright as mw
from motionwright.errors import InvalidInputError
from motionwright.methods.backend import required_families
from motionwright.models import ModelMismatchError, ModelNotFoundError
from motionwright.rendering import check_render


def small_clip(n=4):
    return mw.Clip.from_frames(np.zeros((n, 16, 24, 3), np.uint8), fps=Fraction(24))


def drag():
    return mw.DragEdit(mw.PointSet(np.array([[4, 4]], np.float32), frame=0),
                       mw.PointSet(np.array([[8, 6]], np.float32), frame=0))


def transfer():
    tokens = np.zeros((3, 2, 16), np.float32)
    motion = mw.MotionEmbedding(tokens, base_model={"family": "svd", "embedding_dim": 16,
                                                    "fingerprint": "0"})
    return mw.MotionTransfer(motion)


def test_required_families_per_edit():
    assert required_families([drag()]) == ["sd15"]
    assert required_families([transfer()]) == ["svd"]


@pytest.mark.parametrize(("edit", "family"), [(drag, "sd15"), (transfer, "svd")])
def test_missing_model_names_the_family_the_edit_needs(edit, family):
    with pytest.raises(ModelNotFoundError) as info:
        check_render(small_clip(), [edit()], backend="diffusion")
    assert info.value.family == family
    assert f"no {family} model configured" in str(info.value)
    assert f"motionwright models add {family} PATH" in str(info.value)


def test_model_file_errors_carry_the_family(tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist") as info:
        check_render(small_clip(), [drag()], backend="diffusion", models=str(tmp_path / "no"))
    assert info.value.family == "sd15"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelMismatchError) as info:
        check_render(small_clip(), [drag()], backend="diffusion", models=str(tmp_path / "empty"))
    assert info.value.family == "sd15"


def test_edits_the_backend_cannot_render_together_are_refused_before_models():
    with pytest.raises(InvalidInputError, match="PromptEdit per call"):
        check_render(small_clip(), [mw.PromptEdit("a red car"), drag()], backend="diffusion")
    with pytest.raises(InvalidInputError, match="separate calls"):
        check_render(small_clip(), [drag(), transfer()], backend="diffusion")
    with pytest.raises(InvalidInputError, match="backend"):
        check_render(small_clip(), [drag()], backend="nope")


def test_preview_needs_no_model():
    check_render(small_clip(), [drag()], backend="preview")


def test_render_with_a_missing_model_fails_before_importing_torch(tmp_path):
    script = textwrap.dedent("""
        import sys, time
        from fractions import Fraction
        import numpy as np
        import motionwright as mw
        from motionwright.models import ModelMismatchError, ModelNotFoundError
        clip = mw.Clip.from_frames(np.zeros((2, 16, 24, 3), np.uint8), fps=Fraction(24))
        edit = mw.DragEdit(mw.PointSet(np.array([[4, 4]], np.float32), frame=0),
                           mw.PointSet(np.array([[8, 6]], np.float32), frame=0))
        start = time.monotonic()
        try:
            mw.render(clip, [edit], backend="diffusion")
        except ModelNotFoundError as exc:
            print(exc.family, "torch" in sys.modules, round(time.monotonic() - start, 3))
    """)
    env = {"MOTIONWRIGHT_CONFIG_DIR": str(tmp_path / "cfg"), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=60)
    family, torch_imported, seconds = out.stdout.split()
    assert (family, torch_imported) == ("sd15", "False"), out.stderr
    assert float(seconds) < 2.0
