"""Where the pipeline's components sit on the device under a memory policy."""

from __future__ import annotations

import contextlib


class Placement:
    """Where the components sit under a policy: everything on the device (``offload`` none,
    or the CPU), or the UNet on the device and the text encoder and VAE moved in only while
    they work (model CPU offload of the idle components)."""

    def __init__(self, loaded, policy) -> None:
        from ...models.loading import set_forward_chunking

        self.loaded, self.policy = loaded, policy
        self.device = loaded.device
        self.offload = policy.offload != "none" and self.device.type != "cpu"
        pipe = loaded.pipeline
        if not self.offload:
            loaded.place(policy)
            return
        loaded.reset_placement()
        pipe.text_encoder.to("cpu")
        pipe.vae.to("cpu")
        pipe.unet.to(self.device)
        set_forward_chunking(pipe.unet, policy.forward_chunking)

    @contextlib.contextmanager
    def on_device(self, module):
        """``module`` on the device while the block runs (back to the CPU after, when
        offloading)."""
        if not self.offload:
            yield module
            return
        module.to(self.device)
        try:
            yield module
        finally:
            module.to("cpu")

    def vae(self):
        """:meth:`on_device` for the VAE."""
        return self.on_device(self.loaded.pipeline.vae)

    def close(self) -> None:
        """Undo the feed-forward chunking of an offloading placement."""
        if self.offload:
            from ...models.loading import set_forward_chunking

            set_forward_chunking(self.loaded.pipeline.unet, False)

