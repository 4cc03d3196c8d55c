"""Running ReVideo on a clip: crop, conditions, windows, sampling, composite.

One window is the SVD model's frame count (14 for ``img2vid``). A longer clip is rendered
window after window (App., "sliding window"): each window's reference image — SVD's image
conditioning — is the previous window's output at the window's first frame, so the edited
content carries on; consecutive windows share ``overlap`` frames which are cross-faded
(:func:`~.region.blend_weights`), so no seam shows where the windows meet.

Conditions per window, at the control module's condition size (the latent size times the
encoders' downsampling, i.e. the working pixel size for SVD):

- content ``c_con``: the window's frames in [-1, 1] with the edited region zeroed (the
  unedited content, §3.2); the user's edited first frame enters through SVD's image input;
- motion ``c_mot``: the trajectories as per-frame displacement maps relative to the previous
  frame, Gaussian-spread (:meth:`~motionwright.types.Trajectory.to_flow_maps`, σ = 10 working
  pixels as the authors), kept inside the region;
- the mask ``M`` (1 inside the region), which the SAFM reads with the timestep.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ...models.memory import get_policy
from ...progress import Reporter
from .region import (
    Region,
    blend_weights,
    composite,
    crop_box,
    resize,
    unite,
    window_starts,
)
from .settings import ReVideoSettings


def _work_geometry(loaded, region: Region, settings: ReVideoSettings):
    from .._frames import working_size
    from ..motion_inversion import geometry

    multiple, native = geometry(loaded)
    box = crop_box(region.masks, region.masks.shape[2] / region.masks.shape[1], settings.margin)
    work = working_size((box[2], box[3]), native, multiple, settings.size)
    box = crop_box(region.masks, work[0] / work[1], settings.margin)
    return work, box


def _flow_maps(region: Region, box, size, cond_size, sigma: float) -> np.ndarray:
    from ...types import Trajectory

    x0, y0, w, h = box
    tracks = region.tracks - np.array([x0, y0], np.float32)
    visible = region.visible & np.isfinite(tracks).all(-1)
    tracks = np.where(visible[..., None], tracks, 0.0).astype(np.float32)
    traj = Trajectory(tracks, visible)
    scale = cond_size[0] / size[0]
    return traj.to_flow_maps(cond_size, sigma * scale, frame_size=(w, h))


class ReVideoRun:
    """One render: the SVD pipeline, the control module and the prepared crop."""

    def __init__(self, loaded, control, clip_frames: np.ndarray, fps, edits: list,
                 settings: ReVideoSettings, policy) -> None:
        import torch

        self.loaded, self.control, self.settings, self.policy = loaded, control, settings, policy
        self.pipe = loaded.pipeline
        self.frames = clip_frames
        self.fps = settings.fps_for(fps)
        T, H, W = clip_frames.shape[:3]
        self.region = unite(edits, T, (W, H))
        self.work, self.box = _work_geometry(loaded, self.region, settings)
        x0, y0, w, h = self.box
        frames8 = clip_frames if clip_frames.dtype == np.uint8 else (clip_frames >> 8).astype(
            np.uint8)
        crop = frames8[:, y0:y0 + h, x0:x0 + w]
        self.crops = resize(crop, self.work)
        if self.region.first_frame is not None:
            # The user's first frame replaces the source only inside the regions.
            inside = self.region.first_mask[..., None]
            edited = np.where(inside, self.region.first_frame, frames8[0])[y0:y0 + h, x0:x0 + w]
            self.reference = resize(edited[None], self.work)[0]
        else:
            self.reference = self.crops[0]
        vae_scale = 2 ** (len(self.pipe.vae.config.block_out_channels) - 1)
        self.latent_hw = (self.work[1] // vae_scale, self.work[0] // vae_scale)
        stages = len(control.config.encoder_channels) - 1
        self.cond_size = (self.latent_hw[1] * 2 ** stages, self.latent_hw[0] * 2 ** stages)
        masks = self.region.masks[:, y0:y0 + h, x0:x0 + w].astype(np.uint8)
        self.masks = resize(masks, self.cond_size) > 0
        self.flow = _flow_maps(self.region, self.box, (w, h), self.cond_size,
                               settings.flow_sigma)
        self.flow *= self.masks[:, None]
        self.window = min(int(self.pipe.unet.config.num_frames), T)
        self.identity = ""  # the control weights' checksum, set by trajectory_clip
        self.device = getattr(self.pipe, "_execution_device", loaded.device)
        self.torch = torch

    def conditions(self, start: int, stop: int) -> dict[str, Any]:
        """``motion``/``content``/``mask`` tensors ``(1, F, C, h, w)`` for frames
        ``start..stop``."""
        torch = self.torch
        content = resize(self.crops[start:stop], self.cond_size).astype(np.float32) / 127.5 - 1
        mask = self.masks[start:stop].astype(np.float32)
        content = content * (1.0 - mask[..., None])
        as_t = lambda a: torch.from_numpy(np.ascontiguousarray(a))[None].to(self.device)  # noqa: E731
        return {"motion": as_t(self.flow[start:stop]),
                "content": as_t(content.transpose(0, 3, 1, 2)),
                "mask": as_t(mask[:, None])}

    def encode_reference(self, image: np.ndarray, generator):
        """SVD's image conditioning of ``image`` (H×W×3 uint8): the noise-augmented VAE
        latent (unscaled mode) and the CLIP image embedding ``(1, 1, d)``."""
        from .._frames import to_model_range
        from ..motion_inversion import clip_embeddings

        torch = self.torch
        vae = self.pipe.vae
        self._upcast_vae()
        pixels = to_model_range(image[None])
        noise = torch.randn(pixels.shape, generator=generator)
        pixels = pixels + self.settings.noise_aug_strength * noise
        param = next(vae.parameters())
        with torch.no_grad():
            latent = vae.encode(pixels.to(device=param.device, dtype=param.dtype)
                                ).latent_dist.mode().float()
        emb = clip_embeddings(self.loaded, image[None], self.device)
        return latent.to(self.device), emb[:, None].to(self.device)

    def _upcast_vae(self) -> None:
        # SVD's VAE overflows in fp16 (config force_upcast); run it in fp32, as diffusers does.
        vae = self.pipe.vae
        if vae.dtype == self.torch.float16 and vae.config.get("force_upcast", False):
            vae.to(dtype=self.torch.float32)

    def decode(self, latents, frames: int) -> np.ndarray:
        """``(F, h, w, 3)`` uint8 from latents ``(1, F, C, h, w)``."""
        torch = self.torch
        chunk = self.policy.vae_chunk or frames
        self._upcast_vae()
        with torch.no_grad():
            video = self.pipe.decode_latents(latents.to(self.pipe.vae.dtype), frames, chunk)
        video = video[0].permute(1, 2, 3, 0).float().cpu().numpy()
        return np.clip((video + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)

    def window_video(self, start: int, reference: np.ndarray, holder, reporter) -> np.ndarray:
        """Generate frames ``start .. start+window`` from ``reference``."""
        from .. import svd_edm
        from .sampler import sample

        torch = self.torch
        stop = start + self.window
        generator = torch.Generator().manual_seed(self.settings.seed + start)
        latent, context = self.encode_reference(reference, generator)
        ids = svd_edm.add_time_ids(self.fps, self.settings.motion_bucket_id,
                                   self.settings.noise_aug_strength, 1, device=self.device)
        channels = int(self.pipe.unet.config.out_channels)
        with torch.no_grad():
            latents = sample(self.pipe.unet, self.control, holder,
                             shape=(1, self.window, channels, *self.latent_hw),
                             image_latent=latent, context=context, time_ids=ids,
                             conds=self.conditions(start, stop), steps=self.settings.steps,
                             guidance=self.settings.guidance, generator=generator,
                             scale=self.settings.control_scale, reporter=reporter,
                             device=self.device)
        latents = latents / float(self.pipe.vae.config.scaling_factor)
        return self.decode(latents, self.window)

    def cached_window(self, start: int, reference: np.ndarray, holder, reporter) -> np.ndarray:
        """:meth:`window_video`, read from / written to the settings' cache folder if any."""
        if self.settings.cache_dir is None:
            return self.window_video(start, reference, holder, reporter)
        from .cache import WindowCache, render_key

        stop = start + self.window
        key = render_key([self.crops[start:stop], self.masks[start:stop],
                          self.flow[start:stop], reference, repr(self.settings), self.box,
                          self.loaded.identity.get("fingerprint"), self.identity])
        cache = WindowCache(self.settings.cache_dir, key)
        found = cache.load(start)
        if found is not None:
            reporter.step(self.settings.steps)
            return found
        video = self.window_video(start, reference, holder, reporter)
        cache.store(start, video)
        return video

    def generate(self, holder, reporter) -> np.ndarray:
        """Every frame of the crop at working size ``(T, h, w, 3)`` uint8, windows joined."""
        T = len(self.frames)
        out = np.zeros((T, self.work[1], self.work[0], 3), np.float32)
        filled = 0
        for start in window_starts(T, self.window, self.overlap):
            reference = self.reference if start == 0 else np.clip(out[start] + 0.5, 0, 255
                                                                  ).astype(np.uint8)
            video = self.cached_window(start, reference, holder, reporter).astype(np.float32)
            reporter.step(0, preview=np.clip(video[-1] + 0.5, 0, 255).astype(np.uint8))
            shared = max(filled - start, 0)
            if shared:
                w = blend_weights(shared)[:, None, None, None]
                out[start:filled] = (1 - w) * out[start:filled] + w * video[:shared]
            out[start + shared:start + self.window] = video[shared:]
            filled = start + self.window
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def composite_all(self, generated: np.ndarray) -> np.ndarray:
        """The clip's frames with the generated crop composited back at native size."""
        return np.stack([composite(src, gen, m, self.box, self.settings.feather)
                         for src, gen, m in zip(self.frames, generated, self.region.masks,
                                                strict=True)])

    @property
    def total_steps(self) -> int:
        """Sampling steps over all windows."""
        T = len(self.frames)
        return self.settings.steps * len(window_starts(T, self.window, self.overlap))

    @property
    def overlap(self) -> int:
        """Frames shared by consecutive windows: the setting, at most half a window."""
        return min(self.settings.overlap, max(self.window // 2, 1))


def weights_checksum(weights) -> str:
    """A checksum of the trained parts of a control module (its zero-initialised outputs,
    condition encoders, fusion) and its UNet overrides: what tells two checkpoints apart."""
    import hashlib

    digest = hashlib.sha256()
    prefixes = ("controlnet_", "motion_encoder.", "content_encoder.", "fusion.")
    for source in (weights.state, weights.unet_kv):
        for key in sorted(source):
            if source is weights.unet_kv or key.startswith(prefixes):
                digest.update(key.encode())
                digest.update(source[key].detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:24]


def trajectory_clip(loaded, control_weights, clip, edits: list, settings: ReVideoSettings, *,
                    memory: Any = "auto", progress=None, cancel=None):
    """Render ``edits`` (TrajectoryEdits) on ``clip`` with the SVD model ``loaded`` and the
    control module ``control_weights``; returns a new in-memory Clip at the clip's size, frame
    rate and bit depth (pixels away from the regions are the source's)."""
    from ...clip import Clip
    from ...models.oom import translate_oom
    from ..motion_inversion import check_svd
    from .checkpoint import build_control, unet_overrides
    from .inject import ControlResiduals, control_residuals
    from .policy import choose_render_policy

    check_svd(loaded)
    if not edits:
        raise InvalidInputError("edits: expected at least one TrajectoryEdit")
    frames = np.asarray(clip.to_array())
    pipe = loaded.pipeline
    guided = settings.guidance[1] > 1.0 or settings.guidance[0] != 1.0
    control = build_control(control_weights, pipe.unet)
    run = ReVideoRun(loaded, control, frames, clip.fps, edits, settings, get_policy("gpu"))
    if settings.cache_dir is not None:
        run.identity = weights_checksum(control_weights)
    policy, _estimate = choose_render_policy(loaded, control, run.window, run.latent_hw, memory,
                                            guided)
    run.policy = policy
    loaded.place(policy)
    run.device = getattr(pipe, "_execution_device", loaded.device)
    control.to(run.device)
    reporter = Reporter("ReVideo sampling", run.total_steps, progress, cancel)
    holder = ControlResiduals()
    with contextlib.ExitStack() as stack:
        stack.enter_context(unet_overrides(pipe.unet, control_weights.unet_kv))
        stack.enter_context(control_residuals(pipe.unet, holder))
        stack.enter_context(translate_oom("rendering a trajectory edit", policy, loaded.device))
        generated = run.generate(holder, reporter)
    out = run.composite_all(generated)
    return Clip.from_frames(out, like=clip)


