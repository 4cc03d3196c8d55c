"""Cross-branch, cross-frame self-attention in the UNet decoder (MasaCtrl-style, §3.3).

During the final denoising the batch holds two branches of the same ``F`` frames: the source
branch (the inverted latents, no offsets: it reconstructs the input) and the edited branch.
In the decoder's self-attention, each edited frame's queries attend to the keys and values of
its own source frame (MasaCtrl's mutual self-attention, which keeps appearance and identity)
and of the key frame's source (cross-frame attention, Text2Video-Zero style, which ties the
frames' appearance together). The source branch attends to itself as usual. Installed with
:func:`motionwright.models.hooks.attention_processors` on the ``up_blocks`` self-attention
sites only; diffusers' models are never forked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ...models.hooks import ProcessorWrapper, attention_processors


class CrossBranchAttention(ProcessorWrapper):
    """Self-attention for a ``[source F frames, edited F frames]`` batch (3-D tokens).

    ``key_row`` is the key frame's index among the F frames; ``cross_frame`` adds its source
    keys/values to every edited frame's. Batches of other sizes run the wrapped processor.
    """

    def __init__(self, inner, frames: int, key_row: int, cross_frame: bool = True) -> None:
        super().__init__(inner)
        self.frames = frames
        self.key_row = key_row
        self.cross_frame = cross_frame

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                 temb=None, image_rotary_emb=None, **kwargs):
        import torch
        import torch.nn.functional as F

        f = self.frames
        if (encoder_hidden_states is not None or hidden_states.ndim != 3
                or hidden_states.shape[0] != 2 * f or attn.group_norm is not None
                or attn.spatial_norm is not None):
            return self.call_inner(attn, hidden_states, encoder_hidden_states, attention_mask,
                                   temb=temb, image_rotary_emb=image_rotary_emb, **kwargs)
        b, n, _ = hidden_states.shape
        heads = attn.heads

        def split(x):
            return x.view(b, n, heads, -1).transpose(1, 2)

        q, k, v = (split(attn.to_q(hidden_states)), split(attn.to_k(hidden_states)),
                   split(attn.to_v(hidden_states)))
        src = F.scaled_dot_product_attention(q[:f], k[:f], v[:f])
        k_edit, v_edit = k[:f], v[:f]
        if self.cross_frame:
            key_k = k[self.key_row:self.key_row + 1].expand(f, -1, -1, -1)
            key_v = v[self.key_row:self.key_row + 1].expand(f, -1, -1, -1)
            k_edit = torch.cat([k_edit, key_k], dim=2)
            v_edit = torch.cat([v_edit, key_v], dim=2)
        edit = F.scaled_dot_product_attention(q[f:], k_edit, v_edit)
        out = torch.cat([src, edit]).transpose(1, 2).reshape(b, n, -1).to(q.dtype)
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + hidden_states
        return out / attn.rescale_output_factor


@contextlib.contextmanager
def cross_branch_attention(unet, frames: int, key_row: int, cross_frame: bool = True
                           ) -> Iterator[dict]:
    """Install :class:`CrossBranchAttention` on the decoder's self-attention while the block
    runs; yields ``{site: processor}``."""

    def make(site, current):
        if not site.block.startswith("up_blocks"):
            return None
        return CrossBranchAttention(current, frames, key_row, cross_frame)

    with attention_processors(unet, make, ("spatial-self",)) as installed:
        yield installed
