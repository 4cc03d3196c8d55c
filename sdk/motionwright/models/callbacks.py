"""Progress and cancellation for diffusers pipelines, through their per-step callbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..progress import Reporter


def step_callback(reporter: Reporter) -> Callable[..., dict[str, Any]]:
    """A ``callback_on_step_end`` that reports each denoising step (with an ETA) to ``reporter``.

    Cancelling raises :class:`~motionwright.errors.Cancelled` from inside the pipeline's loop,
    which stops it before the VAE decodes anything, so nothing partial is produced.
    """

    def on_step_end(pipeline, step: int, timestep, callback_kwargs: dict[str, Any]
                    ) -> dict[str, Any]:
        reporter.step()
        return callback_kwargs

    return on_step_end
