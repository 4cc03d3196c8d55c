"""Boundary checks for arrays and numbers, with "expected … got …" messages."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidInputError, ShapeError


def as_array(value: Any, name: str, dtype: Any, shape: tuple[int | None, ...],
             shape_text: str) -> np.ndarray:
    """Convert ``value`` to an array of ``dtype`` whose shape matches ``shape``.

    ``None`` in ``shape`` matches any length. ``shape_text`` is how the shape reads in the
    message, e.g. ``"(N, 2)"``.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ShapeError(f"{name}: expected an array of shape {shape_text}, got {value!r}") from exc
    if arr.ndim != len(shape) or any(
        want is not None and got != want for want, got in zip(shape, arr.shape, strict=False)
    ):
        raise ShapeError(f"{name}: expected shape {shape_text}, got {tuple(arr.shape)}")
    if np.dtype(dtype) == np.bool_:
        if arr.dtype != np.bool_:
            if arr.size and not np.isin(arr, (0, 1)).all():
                raise InvalidInputError(
                    f"{name}: expected booleans (or 0/1), got {arr.dtype} values"
                )
        return arr.astype(np.bool_, copy=True)
    if np.issubdtype(np.dtype(dtype), np.floating) and not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise ShapeError(f"{name}: expected numbers, got dtype {arr.dtype}")
    if np.issubdtype(np.dtype(dtype), np.floating) and arr.size:
        # A finite value beyond the target's range would silently become infinity.
        limit = np.finfo(dtype).max
        with np.errstate(invalid="ignore", over="ignore"):
            beyond = np.isfinite(arr) & (np.abs(arr) > limit)
        if beyond.any():
            index = tuple(int(i) for i in np.argwhere(beyond)[0])
            raise InvalidInputError(
                f"{name}: {arr[index]} at index {index} is beyond the range of "
                f"{np.dtype(dtype)} (±{limit:.3g}); remove or fix that value"
            )
    return arr.astype(dtype, copy=True)


def require_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` holds NaN or infinity, naming the first bad index."""
    bad = ~np.isfinite(arr)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidInputError(
            f"{name}: values must be finite, got {arr[index]} at index {index}; "
            "remove or fix that point"
        )


def require_int(value: Any, name: str, minimum: int | None = None) -> int:
    """Return ``value`` as an int (rejecting bools and floats with a fraction)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidInputError(f"{name}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidInputError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def freeze(arr: np.ndarray) -> np.ndarray:
    """Mark ``arr`` read-only so value objects stay immutable."""
    arr.setflags(write=False)
    return arr
