"""Helpers shared by the typed value objects: JSON-safe conversions and corrupt-file wrapping."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import CorruptFileError, InvalidInputError, LimitExceededError, SchemaVersionError


@contextlib.contextmanager
def reading(source: str, what: str) -> Iterator[None]:
    """Turn a malformed payload (bad keys, types, shapes) into CorruptFileError naming ``source``.

    Errors that already say the file is corrupt, from the future or beyond a loader limit keep
    their type and gain the file name.
    """
    where = f"'{source}'" if source else "the payload"
    try:
        yield
    except (SchemaVersionError, LimitExceededError) as exc:
        if not source or source in str(exc):
            raise
        raise type(exc)(f"{where}: {exc}") from exc
    except CorruptFileError as exc:
        if not source or source in str(exc):
            raise
        raise CorruptFileError(f"{where} is not a valid {what}: {exc}") from exc
    except (InvalidInputError, KeyError, TypeError, ValueError, AttributeError, IndexError,
            OverflowError) as exc:
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise CorruptFileError(f"{where} is not a valid {what}: {detail}") from exc


def json_safe(value: Any, name: str) -> Any:
    """Return ``value`` as plain JSON types (tuples become lists, Fractions "num/den").

    Raises InvalidInputError naming ``name`` for anything JSON cannot hold (NaN, objects).
    """
    def convert(v: Any) -> Any:
        if isinstance(v, Fraction):
            return f"{v.numerator}/{v.denominator}"
        if isinstance(v, np.generic):
            return convert(v.item())
        if isinstance(v, np.ndarray):
            return convert(v.tolist())
        if isinstance(v, dict):
            out = {}
            for key, item in v.items():
                if not isinstance(key, str):
                    raise InvalidInputError(f"{name}: keys must be strings, got {key!r}")
                out[key] = convert(item)
            return out
        if isinstance(v, list | tuple):
            return [convert(item) for item in v]
        if isinstance(v, float) and not math.isfinite(v):
            raise InvalidInputError(f"{name}: values must be finite, got {v}")
        if v is None or isinstance(v, bool | int | float | str):
            return v
        if hasattr(v, "__fspath__"):
            return str(v)
        raise InvalidInputError(f"{name}: cannot store {type(v).__name__} value {v!r} as JSON")

    out = convert(value)
    json.dumps(out, allow_nan=False)
    return out


def require_numbers(value: Any, name: str) -> None:
    """Raise InvalidInputError unless ``value`` is a number or (nested) lists of numbers.

    Checked before ``np.asarray`` sees JSON: given one long string among many short ones,
    numpy would make a text array as wide as the longest for every element.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, list | tuple):
            pending.extend(item)
        elif not isinstance(item, int | float | np.number | np.bool_ | np.ndarray) or (
                isinstance(item, np.ndarray) and item.dtype.kind not in "biuf"):
            raise InvalidInputError(f"{name}: expected numbers, got {item!r:.40}")


def int_list(values: Any, name: str) -> np.ndarray:
    """A 1-D int64 array from a JSON list (rejecting floats with a fraction and bools)."""
    require_numbers(values, name)
    arr = np.asarray(values)
    if arr.size == 0:
        return np.zeros(0, np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise InvalidInputError(f"{name}: expected a list of integers, got {values!r:.80}")
    return arr.astype(np.int64)
