"""§3.3–3.4: the drag loop, Adam on per-level latent offsets alternating with tracking.

How the levels' offsets combine: at generation the edited branch starts from the top level's
inverted latent plus its offset, and each lower level's offset is added to the sample the
chain has reached when it gets there (:mod:`.denoise`). That sample already carries the
offsets of the levels above, so each level's offset is a correction *relative to the sample
reached*, not a drag of the inverted latent from scratch (which would add the same motion once
per level). The drag optimises them that way: the UNet input at level ``t`` is
:func:`level_inputs`, the inverted latent plus every offset at or above ``t`` carried down to
``t`` by DDIM with the noise prediction held fixed (a factor ``sqrt(ᾱ_t / ᾱ_s)`` from level
``s``, the same linearisation DDIM inversion relies on). The paper says only that the offsets
of all levels are optimised together.
"""

from __future__ import annotations

import numpy as np

from ...models.precision import LossScaler
from ...progress import Reporter
from . import supervision as sup
from .ddim import predict_x0
from .encode import decode_latents
from .features import feature_block, sample_points
from .region import composite, mask_to_model, points_to_model
from .settings import DragSettings


def forward_features(unet, inputs: list, levels, schedule, cond, block: str, grad: bool):
    """Features ``(B, L·C, h, w)`` (levels concatenated on channels) and the noise
    prediction of the lowest level, for per-level inputs ``(B, 4, h, w)``."""
    import torch

    from ...models.hooks import FeatureRecorder

    b = inputs[0].shape[0]
    x = torch.cat(inputs)
    t = torch.tensor([schedule.timestep(lv) for lv in levels for _ in range(b)],
                     device=x.device)
    with torch.set_grad_enabled(grad), FeatureRecorder(unet, [block], detach=not grad) as rec:
        eps = unet(x, t, encoder_hidden_states=cond.expand(x.shape[0], -1, -1)).sample
        fmap = rec.features[block]
    fmap = fmap.reshape(len(levels), b, *fmap.shape[1:]).permute(1, 0, 2, 3, 4)
    return fmap.flatten(1, 2).float(), eps[-b:]


def carry_factor(schedule, from_level: int, to_level: int) -> float:
    """How much of a latent offset at ``from_level`` reaches ``to_level`` (≤ ``from_level``)
    through deterministic DDIM with the noise prediction held fixed: ``sqrt(ᾱ_to / ᾱ_from)``."""
    return float((schedule.alphas[to_level] / schedule.alphas[from_level]) ** 0.5)


def level_inputs(inverted, offsets, levels, schedule, idx=slice(None)) -> list:
    """The UNet inputs ``(B, 4, h, w)`` of each level in ``levels`` (descending) for frames
    ``idx``: the inverted latent plus the offsets of that level and of every level above it,
    carried down (see the module docstring). Differentiable in the offsets."""
    dtype = inverted[levels[0]].dtype
    out = []
    for lv in levels:
        moved = sum(carry_factor(schedule, up, lv) * offsets[up][idx] for up in levels
                    if up >= lv)
        out.append(inverted[lv][idx] + moved.to(dtype))
    return out


def optimise(unet, vae, inverted, levels, schedule, cond, prop, rows, box, size, regions,
             s: DragSettings, chunk: int, key_frame, place, progress, cancel):
    """§3.3–3.4: Adam on the per-level latent offsets, alternating with shared-Δp tracking."""
    import torch

    block = feature_block(unet, s.feature_block)
    device = inverted[0].device
    n = len(rows)
    handles = torch.from_numpy(np.stack(
        [points_to_model(prop.handles[r], box, size) for r in rows])).to(device)
    targets = torch.from_numpy(np.stack(
        [points_to_model(prop.targets[r], box, size) for r in rows])).to(device)
    group = torch.from_numpy(prop.group).to(device)
    k2 = s.point_set ** 2
    centres = torch.arange(int(prop.group.max()) + 1, device=device) * k2 + k2 // 2
    lat_h, lat_w = inverted[0].shape[-2:]
    outside = torch.zeros((n, 1, lat_h, lat_w), device=device)
    if regions is not None:
        import cv2

        for i, r in enumerate(rows):
            m = mask_to_model(regions(r), box, size).astype(np.float32)
            small = cv2.resize(m, (lat_w, lat_h), interpolation=cv2.INTER_AREA)
            outside[i, 0] = torch.from_numpy((small <= 0).astype(np.float32))
    offsets = {lv: torch.zeros_like(inverted[lv], dtype=torch.float32, requires_grad=True)
               for lv in levels}
    opt = torch.optim.Adam(list(offsets.values()), lr=s.lr)
    # A drag runs a few dozen iterations: start the fp16 loss scale low rather than spend
    # iterations lowering it from GradScaler's 2^16.
    scaler = LossScaler(device, inverted[levels[0]].dtype, init_scale=2.0 ** 12)

    def inputs(idx):
        return level_inputs(inverted, offsets, levels, schedule, idx)

    # Reference features of the input (tracking, §3.1) and the first template (eq. 3).
    refs, temps = [], []
    for i in range(0, n, chunk):
        idx = slice(i, i + chunk)
        fmap, _ = forward_features(unet, inputs(idx), levels, schedule, cond, block,
                                   grad=False)
        refs.append(sample_points(fmap, handles[idx], size))
        temps.append(sup.patch_features(fmap, handles[idx], size, s.patch_radius, s.unit))
    reference = torch.cat(refs)
    template = torch.cat(temps).mean(dim=0)
    active = torch.ones(len(group), dtype=torch.bool, device=device)
    reporter = Reporter("drag", s.iterations, progress, cancel)
    losses: list[float] = []
    cands = torch.from_numpy(sup.step_candidates(s.step_limit, s.unit)).to(device)
    iters = 0
    key_pos = rows.index(prop.key_row)
    for k in range(s.iterations):
        iters = k + 1
        opt.zero_grad(set_to_none=True)
        total = 0.0
        cand_feats, fresh = [], []
        eps_key = None
        for i in range(0, n, chunk):
            idx = slice(i, i + chunk)
            ins = inputs(idx)
            fmap, eps = forward_features(unet, ins, levels, schedule, cond, block, grad=True)
            loss = sup.drag_loss(fmap, handles[idx], targets[idx], template, active, size,
                                 s.patch_radius, s.unit)
            drag_value = float(loss.detach())
            if s.mask_weight > 0 and regions is not None:
                for lv, x in zip(levels, ins, strict=True):
                    loss = loss + s.mask_weight * sup.mask_loss(
                        x.float() - inverted[lv][idx].float(), outside[idx])
            scaler.backward(loss)
            total += drag_value
            with torch.no_grad():
                fm = fmap.detach()
                d = sup.directions(handles[idx], targets[idx])
                pts = handles[idx][:, :, None] + cands[None, None, :, None] * d[:, :, None]
                cand_feats.append(sample_points(fm, pts.flatten(1, 2), size))
                fresh.append(sup.patch_features(fm, handles[idx], size, s.patch_radius, s.unit))
                if i <= key_pos < i + chunk:
                    eps_key = eps[key_pos - i:key_pos - i + 1].detach()
        stepped = scaler.step(opt)
        losses.append(total)
        if not (stepped and np.isfinite(total)):
            reporter.step()  # a non-finite step moved nothing; its features are not tracked
            continue
        with torch.no_grad():
            feats = torch.cat(cand_feats)
            handles, _ = sup.shared_step(lambda pts, _f=feats: _f, reference, handles, targets,
                                         active, s.step_limit, s.unit)
            template = sup.update_template(template, torch.cat(fresh).mean(dim=0),
                                           s.feature_ema)
            dist = torch.linalg.norm(handles[:, centres] - targets[:, centres], dim=-1)
            arrived = (dist <= s.stop_distance * s.unit).all(dim=0)
            active = ~arrived[group]
        preview = None
        if s.preview_every and (k % s.preview_every == 0) and eps_key is not None:
            with place.vae():
                preview = _preview(vae, inverted, offsets, levels, schedule, eps_key, rows,
                                   prop.key_row, key_frame, box)
        reporter.step(preview=preview)
        if not bool(active.any()):
            break
    return ({lv: o.detach() for lv, o in offsets.items()}, handles.cpu().numpy(), losses,
            iters, scaler.skipped)


def _preview(vae, inverted, offsets, levels, schedule, eps, rows, key_row, frame, box):
    """The drag frame as the lowest level currently predicts it, pasted into the source."""
    import torch

    lv = levels[-1]
    i = rows.index(key_row)
    with torch.no_grad():
        z = level_inputs(inverted, offsets, levels, schedule, slice(i, i + 1))[-1]
        x0 = predict_x0(z, eps.detach().to(z.dtype), float(schedule.alphas[lv]))
        crop = decode_latents(vae, x0, 1)[0]
    return composite(frame, crop, box, None, 0.0)


