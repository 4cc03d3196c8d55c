"""What server and client agree on, in the standard library only: the protocol version and the
names of errors on the wire (``{"error": kind, "message": ...}``)."""

from __future__ import annotations

import re

from .. import errors

PROTOCOL = 1


def error_kind(exc: BaseException | type) -> str:
    """The protocol's name for an error: its class name in snake case without ``Error``
    (``JobNotFoundError`` -> ``job_not_found``, ``Cancelled`` -> ``cancelled``)."""
    name = exc.__name__ if isinstance(exc, type) else type(exc).__name__
    if name.endswith("Error") and name != "Error":
        name = name[: -len("Error")]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _known_kinds() -> dict[str, type]:
    found = {}
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, errors.MotionwrightError):
            found[error_kind(value)] = value
    return found


KINDS: dict[str, type] = _known_kinds()


def error_class(kind: str, status: int) -> type:
    """The SDK error class for an error ``kind`` received with HTTP ``status`` (a kind this
    client does not know maps by status: 404 job not found, 409 service, other 4xx invalid)."""
    if kind in KINDS:
        return KINDS[kind]
    if status == 404:
        return errors.JobNotFoundError
    if 400 <= status < 500 and status != 409:
        return errors.InvalidInputError
    return errors.ServiceError
