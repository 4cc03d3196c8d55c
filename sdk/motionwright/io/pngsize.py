"""The frame size a PNG declares in its header, read without decoding the image."""

from __future__ import annotations

from .. import limits

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(head: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the IHDR chunk at the start of PNG bytes ``head`` (the first
    24 bytes suffice), or None when ``head`` does not start like a PNG."""
    if len(head) < 24 or not head.startswith(_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def check_png_pixels(head: bytes, what: str) -> None:
    """Raise LimitExceededError when the PNG starting with ``head`` declares more than
    ``max_pixels`` pixels (decoding it would allocate them all)."""
    size = png_size(head)
    if size is not None:
        limits.current().check("max_pixels", size[0] * size[1],
                               f"{what} ({size[0]}x{size[1]}) pixels")
