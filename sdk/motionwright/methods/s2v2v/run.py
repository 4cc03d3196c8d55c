"""One S²V2V generation (Algorithm 1): guidance from the reference, inversion, guided sampling,
decoding back to the render clip's size."""

from __future__ import annotations

import contextlib

import numpy as np

from ...errors import InvalidInputError
from ...progress import Reporter
from .guidance import WeightSchedule
from .inputs import Guide, box_video, reference_guide, resize_frames, trajectory_noise
from .kinds import (
    NATIVE,
    TEXT_GUIDANCE,
    decode_video,
    encode_prompt,
    encode_video,
    feature_layers,
    kind_of,
    latent_frames,
    patch_size,
    rotary_embeddings,
    spatial_scale,
)
from .patterns import box_region, neighbour_region
from .sampler import Denoiser, WindowGuide, invert, reference_patterns, sample, windows
from .settings import GuidedSettings


def _schedule(pipeline, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """DDIM ``leading`` timesteps ``(steps,)`` ascending and ᾱ per level ``(steps+1,)`` from
    the pipeline's own scheduler (its betas; CogVideoX's SNR shift included)."""
    acp = pipeline.scheduler.alphas_cumprod.double().numpy()
    train = len(acp)
    offset = int(getattr(pipeline.scheduler.config, "steps_offset", 0) or 0)
    ts = np.arange(steps, dtype=np.int64) * (train // steps) + offset
    ts = np.clip(ts, 0, train - 1)
    return ts, np.concatenate([[acp[0]], acp[ts]])


def _frames_to_tensor(frames: np.ndarray):
    import torch

    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def _tensor_to_frames(x) -> np.ndarray:
    arr = ((x.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1)
    return arr.cpu().numpy()


def _model_frames(kind: str, frames: int, loaded) -> int:
    """Video frames the model runs on: CogVideoX needs 4k+1 (padded by repeating the last)."""
    if kind != "cogvideox":
        return frames
    ratio = int(loaded.pipeline.vae.config.temporal_compression_ratio)
    return ((frames - 1 + ratio - 1) // ratio) * ratio + 1


def _pad(array: np.ndarray, count: int) -> np.ndarray:
    if len(array) >= count:
        return array
    return np.concatenate([array, np.repeat(array[-1:], count - len(array), axis=0)])


def working_size(kind: str, settings: GuidedSettings, multiple: int) -> tuple[int, int]:
    """The sampling size ``(w, h)``: the settings' or the model's native size, rounded down to
    a multiple the model accepts."""
    w, h = settings.size or NATIVE[kind][0]
    w, h = max(multiple, w // multiple * multiple), max(multiple, h // multiple * multiple)
    return int(w), int(h)


def generate(loaded, clip, edit, settings: GuidedSettings, *, policy, progress=None,
             cancel=None) -> np.ndarray:
    """Run S²V2V for ``edit`` and return ``(len(clip), H, W, 3)`` uint8 frames at the clip's
    size. ``loaded`` is a zeroscope, animatediff or cogvideox model."""
    import torch

    from ...models.hooks import activation_checkpointing
    from ...models.memory import attention_backend
    from ...models.oom import translate_oom

    kind = kind_of(loaded.family.name)
    frames = len(clip)
    if frames < 2:
        raise InvalidInputError(f"clip: S²V2V generates motion over at least 2 frames, got "
                                f"{frames}")
    trajectory = edit.reference is None
    scale = spatial_scale(loaded)
    patch = patch_size(loaded, kind)
    size = working_size(kind, settings, scale * patch * (8 if kind != "cogvideox" else 1))
    model_frames = _model_frames(kind, frames, loaded)
    guide = _guide(clip, edit, frames, size, settings, progress, cancel)
    ref_frames = _pad(guide.frames, model_frames)
    tracks = _pad(guide.tracks, model_frames)
    visible = _pad(guide.visible, model_frames)
    boxes = None if guide.boxes is None else _pad(guide.boxes, model_frames)

    device = loaded.device
    loaded.place(policy)
    steps = settings.steps_for(trajectory)
    timesteps, alphas = _schedule(loaded.pipeline, steps)
    lat_frames = latent_frames(kind, model_frames, loaded)
    latent_hw = (size[1] // scale, size[0] // scale)
    native_window = NATIVE[kind][1]
    window = settings.window or latent_frames(kind, native_window, loaded)
    spans = windows(lat_frames, window, settings.overlap)
    which = np.arange(lat_frames)
    if kind == "cogvideox":
        which = np.minimum(np.arange(lat_frames) * int(
            loaded.pipeline.vae.config.temporal_compression_ratio), model_frames - 1)
    lat_tracks, lat_visible = tracks[which], visible[which]
    lat_boxes = None if boxes is None else boxes[which]
    den = Denoiser(loaded, kind, feature_layers(loaded.denoiser, kind),
                   str(getattr(loaded.pipeline.scheduler.config, "prediction_type", "epsilon")),
                   patch, latent_hw,
                   lambda f: rotary_embeddings(loaded, kind, latent_hw, f, device))
    if not den.layers:
        raise InvalidInputError(f"model: the {kind} model has no temporal layers to read "
                                f"features from; is it a video model?")

    def cells(span, name, grid):
        stride_x, stride_y = size[0] / grid[1], size[1] / grid[0]
        s, e = span
        t = torch.as_tensor(lat_tracks[s:e]).clone()
        t[..., 0] = (t[..., 0] + 0.5) / stride_x - 0.5
        t[..., 1] = (t[..., 1] + 0.5) / stride_y - 0.5
        return t.to(device)

    def regions_for(span, grid):
        stride_x, stride_y = size[0] / grid[1], size[1] / grid[0]
        s, e = span
        if lat_boxes is not None:
            b = torch.as_tensor(lat_boxes[s:e]).clone()
            b[:, [0, 2]] = (b[:, [0, 2]] + 0.5) / stride_x - 0.5
            b[:, [1, 3]] = (b[:, [1, 3]] + 0.5) / stride_y - 0.5
            return box_region(b, grid).to(device)
        k = max(1, round((settings.neighbourhood / stride_x)
                         * (settings.neighbourhood / stride_y)))
        return neighbour_region(cells(span, "", grid).cpu(), grid,
                                min(k, grid[0] * grid[1])).to(device)

    gen = torch.Generator().manual_seed(settings.seed)
    text_scale = settings.text_guidance
    if text_scale is None:
        text_scale = TEXT_GUIDANCE[kind]
    total = (0 if trajectory else steps) + steps + 1
    reporter = Reporter("generate", total, progress, cancel)
    checkpointing = policy.checkpoint_predicate()
    with contextlib.ExitStack() as stack:
        stack.enter_context(translate_oom("guided generation", policy, device))
        stack.enter_context(attention_backend(loaded.denoiser, policy))
        if checkpointing is not None:
            stack.enter_context(activation_checkpointing(loaded.denoiser, checkpointing))
        with torch.no_grad():
            cond, uncond = encode_prompt(loaded, kind, edit.prompt, edit.negative_prompt, device)
            null = uncond if not edit.negative_prompt else encode_prompt(
                loaded, kind, edit.prompt, "", device)[1]
            z0 = encode_video(loaded, kind, _frames_to_tensor(ref_frames),
                              policy.vae_chunk).float().to(device)
        reporter.step()
        # The t' = 1 pass with the null prompt gives the reference's patterns (eq. 3, 4).
        guides = []
        noise = torch.randn(z0.shape, generator=gen).to(device)
        a1 = float(loaded.pipeline.scheduler.alphas_cumprod[1])
        z1 = a1 ** 0.5 * z0 + (1 - a1) ** 0.5 * noise
        vis = torch.as_tensor(lat_visible).T.contiguous().to(device)
        for span in spans:
            s, e = span
            with torch.no_grad():
                _, feats = den.features(z1[:, :, s:e], 1, null, a1, grad=False)
            regions = {n: regions_for(span, f.shape[1:3]) for n, f in feats.items()}
            track_fn = (lambda sp: lambda name, grid: cells(sp, name, grid))(span)
            with torch.no_grad():
                guidance = reference_patterns(den, feats, track_fn, regions,
                                              settings.temperature)
            guides.append(WindowGuide(guidance, regions, vis[:, s:e]))
        if trajectory:
            boxes_cells = lat_boxes.copy()
            boxes_cells[:, [0, 2]] = (boxes_cells[:, [0, 2]] + 0.5) / scale - 0.5
            boxes_cells[:, [1, 3]] = (boxes_cells[:, [1, 3]] + 0.5) / scale - 0.5
            start = trajectory_noise(tuple(z0.shape), boxes_cells, gen).to(device)
        else:
            start = invert(den, z0, null, timesteps, alphas, spans, reporter)

        def preview(latents, i):
            if not settings.preview_every or (i + 1) % settings.preview_every:
                return None
            return _tensor_to_frames(decode_video(loaded, kind, latents[:, :, :1],
                                                  policy.vae_chunk))[0]

        out = sample(den, start, cond, uncond, timesteps, alphas, spans, guides,
                     schedule=WeightSchedule(settings.guidance_weight, settings.guided_steps),
                     text_scale=text_scale, temperature=settings.temperature,
                     track_cells=lambda w: (lambda name, grid: cells(spans[w], name, grid)),
                     max_ratio=settings.max_guidance_ratio, reporter=reporter,
                     preview=preview)
        video = decode_video(loaded, kind, out, policy.vae_chunk)
    result = _tensor_to_frames(video)[:frames]
    return resize_frames(result, clip.size)


def _guide(clip, edit, frames: int, size: tuple[int, int], settings: GuidedSettings,
           progress, cancel) -> Guide:
    """The reference setting's tracked points, or the trajectory setting's box video."""
    from ...clip import Clip

    if edit.reference is not None:
        reference = Clip.open(edit.reference)
        return reference_guide(reference, edit, frames, size, settings.num_points,
                               progress=progress, cancel=cancel)
    from .inputs import box_rows

    boxes = box_rows(edit.box, frames, size[0] / clip.size[0], size[1] / clip.size[1])
    tracks = ((boxes[:, :2] + boxes[:, 2:]) / 2)[:, None, :].astype(np.float32)
    return Guide(box_video(boxes, size), tracks, np.ones((frames, 1), bool), boxes)
