"""Generation of the edited latents from the inverted latents and the learnt offsets."""

from __future__ import annotations

import contextlib

from ...progress import Reporter
from .ddim import ddim_move, run_unet


def denoise(unet, inverted, offsets, levels, schedule, cond, key_row, rows, s, chunk: int,
            progress, cancel):
    """Denoise from the highest level: the edited branch starts from the inverted latent plus
    its offset and takes each lower level's offset when it reaches that level; with
    ``cross_frame`` the source branch runs alongside for the decoder's cross-branch
    attention. Returns the edited clean latents ``(R, 4, h, w)``."""
    import torch

    from .attention import cross_branch_attention

    top = levels[0]
    n = len(rows)
    src = inverted[top].clone()
    edit = inverted[top] + offsets[top].to(src.dtype)
    reporter = Reporter("denoise", top, progress, cancel)
    ctx = (cross_branch_attention(unet, n, rows.index(key_row)) if s.cross_frame
           else contextlib.nullcontext())
    with torch.no_grad(), ctx:
        for lv in range(top, 0, -1):
            if lv != top and lv in offsets:
                edit = edit + offsets[lv].to(edit.dtype)
            t = schedule.timestep(lv)
            a_from, a_to = float(schedule.alphas[lv]), float(schedule.alphas[lv - 1])
            if s.cross_frame:
                eps = run_unet(unet, torch.cat([src, edit]), t, cond, 2 * n)
                e_src, e_edit = eps[:n], eps[n:]
                src = ddim_move(src, e_src, a_from, a_to)
            else:
                e_edit = run_unet(unet, edit, t, cond, chunk)
            edit = ddim_move(edit, e_edit, a_from, a_to)
            reporter.step()
    return edit

