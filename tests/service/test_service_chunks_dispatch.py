"""A diffusion chunk reaches the method of every edit kind."""

import numpy as np
from service_helpers import request_for

import motionwright as mw
from motionwright.methods import backend as diffusion
from motionwright.service.chunks import render_chunk
from motionwright.service.request import parse_request


def test_a_prompt_edit_chunk_renders_through_the_diffusion_backend(shot, tmp_path, monkeypatch):
    path, _ = shot
    seen = {}

    def fake_render(clip, edits, *, models=None, progress=None, cancel=None):
        seen["edits"] = edits
        return mw.Clip.from_frames(np.zeros((len(clip), *clip.size[::-1], 3), np.uint8))

    monkeypatch.setattr(diffusion, "preflight", lambda edits, models=None: None)
    monkeypatch.setattr(diffusion, "render", fake_render)
    edit = mw.PromptEdit("a bronze robot")
    request = parse_request(request_for(path, [edit], backend="diffusion",
                                        output={"sample": "uint8"}),
                            data_dir=tmp_path, check_media=False)
    frames = render_chunk(request, 0, 6)
    assert [e.to_dict() for e in seen["edits"]] == [edit.to_dict()]
    assert frames.shape[0] == 6  # the whole shot
