"""SMPTE timecode as a small value type.

A :class:`Timecode` is an integer count of frames since ``00:00:00:00`` at a frame rate, with
a drop-frame flag. Drop-frame timecode (29.97 and 59.94 fps) skips the labels ``;00`` and
``;01`` (``;00``–``;03`` at 59.94) at the start of every minute except every tenth minute, so
labels stay close to wall-clock time; the frame count itself never skips.

Formatting uses ``HH:MM:SS:FF`` for non-drop and ``HH:MM:SS;FF`` for drop-frame timecode. Hours
are not wrapped at 24.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .errors import InvalidInputError, MissingExtraError

_TC_RE = re.compile(r"^\s*(\d{1,3}):(\d{2}):(\d{2})([:;.,])(\d{2,3})\s*$")


def as_rate(value: Any, name: str = "fps") -> Fraction:
    """Return ``value`` (int, Fraction, ``"num/den"`` string or float) as a positive Fraction.

    Floats are matched to the nearest rate with a denominator of at most 1001, so ``29.97``
    becomes ``30000/1001``.
    """
    if isinstance(value, bool):
        raise InvalidInputError(f"{name}: expected a positive frame rate, got {value!r}")
    try:
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            rate = _nearest_rate(value)
        elif isinstance(value, str):
            rate = Fraction(value.strip())
        else:
            rate = Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise InvalidInputError(
            f"{name}: expected a positive frame rate such as 24, Fraction(30000, 1001) or "
            f"'30000/1001', got {value!r}"
        ) from exc
    if rate <= 0:
        raise InvalidInputError(f"{name}: expected a positive frame rate, got {value!r}")
    return rate


def _nearest_rate(value: float) -> Fraction:
    for den in (1, 1001):
        candidate = Fraction(round(value * den), den)
        if candidate and abs(float(candidate) - value) < 1e-3:
            return candidate
    return Fraction(value).limit_denominator(1001)


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise InvalidInputError(f"{name}: expected an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise InvalidInputError(f"{name}: expected an integer, got {value!r}") from None


def _nominal(rate: Fraction) -> int:
    return max(1, round(rate))


def _drop_count(nominal: int) -> int:
    return 2 * (nominal // 30)


@dataclass(frozen=True, order=False)
class Timecode:
    """A SMPTE timecode: ``frames`` counted since ``00:00:00:00`` at ``rate`` frames per second.

    ``rate`` is a Fraction (``30000/1001`` for 29.97); labels count to the nominal rate
    (``round(rate)``). ``drop_frame`` is allowed only when the nominal rate is a multiple of 30.
    Add or subtract an ``int`` to move by frames; subtract two timecodes to get a frame count.
    """

    frames: int
    rate: Fraction
    drop_frame: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "frames", _as_int(self.frames, "frames"))
        if self.frames < 0:
            raise InvalidInputError(
                f"frames: a timecode cannot be negative, got {self.frames} frames"
            )
        object.__setattr__(self, "rate", as_rate(self.rate, "rate"))
        object.__setattr__(self, "drop_frame", bool(self.drop_frame))
        if self.drop_frame and _nominal(self.rate) % 30 != 0:
            raise InvalidInputError(
                f"drop_frame: drop-frame timecode needs a rate of 29.97 or 59.94 fps, got "
                f"{self.rate} fps; use drop_frame=False"
            )

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str, rate: Any, drop_frame: bool | None = None) -> Timecode:
        """Parse ``"HH:MM:SS:FF"`` (or ``"HH:MM:SS;FF"`` for drop-frame) at ``rate``.

        ``drop_frame=None`` takes the flag from the separator before the frames field
        (``;``, ``.`` or ``,`` mean drop-frame).
        """
        if isinstance(text, Timecode):
            return text
        match = _TC_RE.match(str(text))
        if match is None:
            raise InvalidInputError(
                f"timecode: expected 'HH:MM:SS:FF' or 'HH:MM:SS;FF', got {text!r}"
            )
        hh, mm, ss, sep, ff = match.groups()
        hours, minutes, seconds, frames = int(hh), int(mm), int(ss), int(ff)
        rate = as_rate(rate, "rate")
        nominal = _nominal(rate)
        if drop_frame is None:
            drop_frame = sep in ";.,"
        if minutes > 59 or seconds > 59 or frames >= nominal:
            raise InvalidInputError(
                f"timecode: {text!r} is not a valid label at {rate} fps (minutes and seconds "
                f"must be < 60 and frames < {nominal})"
            )
        total_minutes = 60 * hours + minutes
        count = ((hours * 60 + minutes) * 60 + seconds) * nominal + frames
        if drop_frame:
            if nominal % 30 != 0:
                raise InvalidInputError(
                    f"timecode: drop-frame label {text!r} needs 29.97 or 59.94 fps, got {rate}"
                )
            drop = _drop_count(nominal)
            if seconds == 0 and frames < drop and minutes % 10 != 0:
                raise InvalidInputError(
                    f"timecode: {text!r} does not exist in drop-frame timecode (frames "
                    f"00–{drop - 1:02d} are skipped at the start of each minute not divisible "
                    "by 10)"
                )
            count -= drop * (total_minutes - total_minutes // 10)
        return cls(count, rate, drop_frame)

    @classmethod
    def from_seconds(cls, seconds: Any, rate: Any, drop_frame: bool = False) -> Timecode:
        """The timecode of the frame starting at ``seconds`` (rounded to the nearest frame)."""
        rate = as_rate(rate, "rate")
        return cls(round(Fraction(seconds) * rate), rate, drop_frame)

    @classmethod
    def coerce(cls, value: Any, rate: Any) -> Timecode:
        """Turn ``None`` (zero), an ``int`` frame count, a label string or a Timecode into one.

        A Timecode at another rate keeps its label and is re-read at ``rate``.
        """
        rate = as_rate(rate, "rate")
        if value is None:
            return cls(0, rate)
        if isinstance(value, Timecode):
            if value.rate == rate:
                return value
            drop = value.drop_frame and _nominal(rate) % 30 == 0
            return cls.parse(str(value), rate, drop)
        if isinstance(value, str):
            return cls.parse(value, rate)
        return cls(value, rate)

    # -- conversion ---------------------------------------------------------------------------

    @property
    def nominal_rate(self) -> int:
        """The integer rate the labels count to (30 for 29.97 fps)."""
        return _nominal(self.rate)

    def to_frames(self) -> int:
        """The frame count since ``00:00:00:00``."""
        return self.frames

    def to_seconds(self) -> Fraction:
        """Elapsed time since ``00:00:00:00`` in seconds, exact."""
        return Fraction(self.frames) / self.rate

    def fields(self) -> tuple[int, int, int, int]:
        """``(hours, minutes, seconds, frames)`` of the label."""
        nominal = self.nominal_rate
        count = self.frames
        if self.drop_frame:
            drop = _drop_count(nominal)
            per_minute = nominal * 60 - drop
            per_ten = nominal * 600 - drop * 9
            tens, rest = divmod(count, per_ten)
            count += drop * 9 * tens
            if rest > drop:
                count += drop * ((rest - drop) // per_minute)
        seconds_total, ff = divmod(count, nominal)
        minutes_total, ss = divmod(seconds_total, 60)
        hh, mm = divmod(minutes_total, 60)
        return hh, mm, ss, ff

    def __str__(self) -> str:
        hh, mm, ss, ff = self.fields()
        width = max(2, len(str(self.nominal_rate - 1)))
        sep = ";" if self.drop_frame else ":"
        return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:0{width}d}"

    def __repr__(self) -> str:
        drop = ", drop_frame=True" if self.drop_frame else ""
        return f"Timecode('{self}', rate={self.rate}{drop})"

    def to_rational_time(self) -> Any:
        """This timecode as an ``opentimelineio.opentime.RationalTime`` (needs opentimelineio)."""
        try:
            from opentimelineio import opentime
        except ImportError as exc:
            raise MissingExtraError(
                "Timecode.to_rational_time needs OpenTimelineIO: pip install opentimelineio"
            ) from exc
        return opentime.RationalTime(self.frames, float(self.rate))

    @classmethod
    def from_rational_time(cls, time: Any, rate: Any = None, drop_frame: bool = False) -> Timecode:
        """Build a Timecode from an OpenTimelineIO ``RationalTime`` (rescaled to ``rate``)."""
        target = as_rate(rate if rate is not None else time.rate, "rate")
        frames = round(Fraction(time.value) / Fraction(time.rate) * target)
        return cls(frames, target, drop_frame)

    # -- arithmetic ---------------------------------------------------------------------------

    @staticmethod
    def _offset(n: Any) -> Any:
        if isinstance(n, bool):
            return NotImplemented
        try:
            return operator.index(n)
        except TypeError:
            return NotImplemented

    def __add__(self, n: Any) -> Timecode:
        offset = self._offset(n)
        if offset is NotImplemented:
            return NotImplemented
        return Timecode(self.frames + offset, self.rate, self.drop_frame)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, Timecode):
            self._same_rate(other)
            return self.frames - other.frames
        offset = self._offset(other)
        if offset is NotImplemented:
            return NotImplemented
        return Timecode(self.frames - offset, self.rate, self.drop_frame)

    def _same_rate(self, other: Timecode) -> None:
        if other.rate != self.rate:
            raise InvalidInputError(
                f"timecodes at different rates cannot be compared: {self!r} and {other!r}"
            )

    def __lt__(self, other: Timecode) -> bool:
        if not isinstance(other, Timecode):
            return NotImplemented
        self._same_rate(other)
        return self.frames < other.frames

    def __le__(self, other: Timecode) -> bool:
        if not isinstance(other, Timecode):
            return NotImplemented
        self._same_rate(other)
        return self.frames <= other.frames

    def __gt__(self, other: Timecode) -> bool:
        if not isinstance(other, Timecode):
            return NotImplemented
        return other < self

    def __ge__(self, other: Timecode) -> bool:
        if not isinstance(other, Timecode):
            return NotImplemented
        return other <= self
