"""Errors of the diffusion runtime, rooted in :mod:`motionwright.errors`.

Each message is one line that names the family, the file and the command that fixes it.
"""

from __future__ import annotations

from ..errors import BackendUnavailableError, CorruptFileError, MediaNotFoundError


class ModelNotFoundError(MediaNotFoundError):
    """No model is configured for a family, or a configured model lacks a file it needs.

    ``family`` names the family that was asked for (None when unknown).
    """

    family: str | None = None


class ModelMismatchError(CorruptFileError):
    """A path holds something that is not a model, or a model of another family.

    ``family`` names the family that was asked for (None when unknown).
    """

    family: str | None = None


class OutOfMemoryError(BackendUnavailableError):
    """The accelerator is too small for the run, before it starts or during it."""
