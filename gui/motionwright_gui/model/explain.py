"""Turn SDK errors into messages for the editor: what went wrong and the command that fixes it."""

from __future__ import annotations

from dataclasses import dataclass

from motionwright import errors


@dataclass(frozen=True)
class Explanation:
    """A user-facing account of an error: a short ``title``, the ``detail`` (the SDK's own
    message) and, when one exists, the shell ``command`` that fixes it."""

    title: str
    detail: str
    command: str | None = None

    def text(self) -> str:
        """Title, detail and fix as plain text for a message box or a job row."""
        parts = [self.title, self.detail]
        if self.command:
            parts.append(f"Fix: {self.command}")
        return "\n".join(parts)


def explain(exc: BaseException, *, family: str = "svd") -> Explanation:
    """An :class:`Explanation` of ``exc``; ``family`` is the model family the failed action
    needed (used in the suggested command) unless the error names the family itself."""
    family = getattr(exc, "family", None) or family
    detail = str(exc) or type(exc).__name__
    name = type(exc).__name__
    if isinstance(exc, errors.Cancelled):
        return Explanation("Cancelled", detail)
    if isinstance(exc, errors.MissingExtraError) or isinstance(exc, ModuleNotFoundError):
        extra = "diffusion"
        if "sam" in detail.lower():
            extra = "sam"
        return Explanation("An optional part of Motionwright is not installed", detail,
                           f"pip install 'motionwright[{extra}]'")
    fix = f"motionwright models add {family} /path/to/{family}-model"
    if name == "ModelNotFoundError" and f"no {family} model configured" not in detail:
        return Explanation(f"The {family} model's files are missing", detail, fix)
    if name == "ModelNotFoundError" or ("model" in detail.lower() and (
            isinstance(exc, errors.MediaNotFoundError | errors.BackendUnavailableError))):
        return Explanation(f"No {family} model is configured", detail, fix)
    if name == "ModelMismatchError":
        return Explanation(f"The {family} model could not be loaded", detail, fix)
    if name == "OutOfMemoryError":
        return Explanation("The GPU ran out of memory", detail,
                           "motionwright render ... --memory lowvram")
    if isinstance(exc, errors.BackendUnavailableError):
        return Explanation("This backend cannot render it here", detail)
    if isinstance(exc, errors.MediaNotFoundError):
        return Explanation("A file was not found", detail)
    if isinstance(exc, errors.MotionwrightError | ValueError):
        return Explanation("The input was not accepted", detail)
    return Explanation(f"Unexpected error ({name})", detail)
