"""The render server's token: a fresh 256-bit secret per start, checked in constant time."""

from __future__ import annotations

import hmac
import secrets

TOKEN_BYTES = 32  # 256 bits, written as 64 hex characters
_PREFIX = "Bearer "


def new_token() -> str:
    """A fresh random token (64 hex characters)."""
    return secrets.token_hex(TOKEN_BYTES)


def authorization_header(token: str) -> str:
    """The ``Authorization`` header value carrying ``token``."""
    return _PREFIX + token


def is_authorized(header: str | None, token: str) -> bool:
    """Whether the ``Authorization`` header value carries ``token``.

    The comparison takes the same time wherever the first difference lies
    (:func:`hmac.compare_digest`), so a caller cannot guess the token byte by byte.
    """
    if not header or not header.startswith(_PREFIX):
        return False
    given = header[len(_PREFIX):].strip().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given, token.encode("ascii"))
