"""The one error hierarchy of Motionwright.

Every error the SDK raises on purpose derives from :class:`MotionwrightError`; subclasses also
derive from the builtin that fits (``ValueError``, ``FileNotFoundError``, ``RuntimeError``), so
callers that already catch those keep working. Messages name the argument and the bad value and
say what to do about it.
"""

from __future__ import annotations


class MotionwrightError(Exception):
    """Root of every error Motionwright raises on purpose."""


class InvalidInputError(MotionwrightError, ValueError):
    """An argument has the wrong value: NaN, out of range, empty, inconsistent."""


class ShapeError(InvalidInputError):
    """An array has the wrong shape or dtype ("expected … got …")."""


class FrameRangeError(InvalidInputError, IndexError):
    """A frame index or range lies outside the clip."""


class MediaNotFoundError(MotionwrightError, FileNotFoundError):
    """A file or folder that was named does not exist."""


class CorruptFileError(MotionwrightError, ValueError):
    """A file exists but is not what it claims to be, or cannot be decoded."""


class LimitExceededError(CorruptFileError):
    """A file claims more than a loader limit allows (frames, pixels, bytes, JSON nesting).

    The message names the limit, the value found and how to raise the limit for a trusted file
    (see :mod:`motionwright.limits`).
    """


class UnsupportedFormatError(MotionwrightError, ValueError):
    """A container, codec, pixel format or file extension Motionwright does not handle."""


class SchemaVersionError(CorruptFileError):
    """A saved file carries a schema version newer than this Motionwright understands."""


class IncompatibleMotionError(InvalidInputError):
    """A motion embedding was learned on a model it cannot be applied to."""


class MissingExtraError(MotionwrightError, ImportError):
    """A feature needs an optional dependency group that is not installed."""


class BackendUnavailableError(MotionwrightError, RuntimeError):
    """The chosen render backend cannot render this edit (yet, or on this machine)."""


class Cancelled(MotionwrightError, RuntimeError):
    """A long operation was cancelled by its caller; nothing partial was left on disk."""


class UnsafePathError(InvalidInputError):
    """A path or name taken from a file or an id would lead outside the folder it must stay
    in (``../``, an absolute path, a NUL byte, a symlink pointing out)."""


class ServiceError(MotionwrightError, RuntimeError):
    """The render service cannot do what was asked: its job database is unreadable, a job is
    in a state that does not allow the call, the server cannot be reached."""


class JobNotFoundError(ServiceError, LookupError):
    """No job with the given id exists in the service's job store."""


class FrameNotReadyError(ServiceError):
    """A job's frame was asked for before the chunk holding it finished rendering."""


class ServerNotRunningError(ServiceError):
    """No render server answers at the address its discovery file names (or there is none)."""


class AuthenticationError(ServiceError):
    """The render server refused the request's token."""


class ProtocolMismatchError(ServiceError):
    """The render server speaks another protocol version than this client."""


class TruncatedMediaWarning(UserWarning):
    """A media file ends early; only its decodable frames are used."""


class FidelityWarning(UserWarning):
    """Something of the source (bit depth, audio, rotation, ...) is not kept in an output."""


class FallbackWarning(UserWarning):
    """A run went on with a substitute for something missing (e.g. no SAM model configured:
    the drag's foreground split is made by the mask or by motion instead)."""


def require_extra(module: str, extra: str, feature: str):
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{feature} needs the '{extra}' extra ({module} is not installed): "
            f"pip install 'motionwright[{extra}]'"
        ) from exc
