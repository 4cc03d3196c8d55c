"""Timecode: parsing, formatting, drop-frame arithmetic."""

import random
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from motionwright.errors import InvalidInputError, MissingExtraError
from motionwright.timecode import Timecode, as_rate

NTSC = Fraction(30000, 1001)


def test_parse_and_format_non_drop():
    tc = Timecode.parse("01:00:00:00", 24)
    assert tc.frames == 86400 and tc.to_frames() == 86400
    assert str(tc) == "01:00:00:00"
    assert str(Timecode.parse("00:00:01:23", 24)) == "00:00:01:23"
    assert Timecode.parse("10:20:30:12", 25).fields() == (10, 20, 30, 12)


def test_add_and_subtract_frames():
    tc = Timecode.parse("00:00:00:23", 24)
    assert str(tc + 1) == "00:00:01:00"
    assert str(1 + tc) == "00:00:01:00"
    assert str(tc + np.int64(25)) == "00:00:02:00"
    assert (tc + 5) - tc == 5
    assert str((tc + 5) - 5) == "00:00:00:23"
    with pytest.raises(InvalidInputError, match="negative"):
        tc - 100


def test_drop_frame_labels_skip_at_each_minute_but_every_tenth():
    tc = Timecode.parse("00:00:59;29", NTSC)
    assert tc.drop_frame
    assert str(tc + 1) == "00:01:00;02"
    assert str(Timecode.parse("00:09:59;29", NTSC) + 1) == "00:10:00;00"
    # One hour of 29.97 drop-frame is 107892 frames.
    assert Timecode.parse("01:00:00;00", NTSC).frames == 107892
    with pytest.raises(InvalidInputError, match="does not exist"):
        Timecode.parse("00:01:00;01", NTSC)


def test_drop_frame_round_trip_random_counts():
    rng = random.Random(0)
    for rate in (NTSC, Fraction(60000, 1001)):
        for _ in range(500):
            n = rng.randrange(0, 24 * 3600 * 60)
            tc = Timecode(n, rate, drop_frame=True)
            assert Timecode.parse(str(tc), rate).frames == n


def test_fifty_nine_point_nine_four_drops_four():
    tc = Timecode.parse("00:00:59;59", Fraction(60000, 1001))
    assert str(tc + 1) == "00:01:00;04"


def test_invalid_labels_and_rates():
    with pytest.raises(InvalidInputError, match="HH:MM:SS:FF"):
        Timecode.parse("1:00:00", 24)
    with pytest.raises(InvalidInputError, match="frames < 24"):
        Timecode.parse("00:00:00:24", 24)
    with pytest.raises(InvalidInputError, match=r"29\.97 or 59\.94"):
        Timecode(0, 24, drop_frame=True)
    with pytest.raises(InvalidInputError, match="positive frame rate"):
        Timecode(0, 0)
    with pytest.raises(InvalidInputError, match="expected an integer"):
        Timecode(1.5, 24)


def test_as_rate_accepts_common_spellings():
    assert as_rate(24) == 24
    assert as_rate(29.97) == NTSC
    assert as_rate("30000/1001") == NTSC
    assert as_rate(Fraction(25)) == 25
    with pytest.raises(InvalidInputError, match="fps"):
        as_rate("fast")
    with pytest.raises(InvalidInputError):
        as_rate(float("nan"))


def test_coerce_and_ordering():
    assert Timecode.coerce(None, 24) == Timecode(0, 24)
    assert Timecode.coerce("00:00:01:00", 24).frames == 24
    assert Timecode.coerce(48, 24).frames == 48
    moved = Timecode.coerce(Timecode.parse("00:00:01:00", 25), 24)
    assert str(moved) == "00:00:01:00" and moved.rate == 24
    assert Timecode(1, 24) < Timecode(2, 24) <= Timecode(2, 24)
    with pytest.raises(InvalidInputError, match="different rates"):
        _ = Timecode(1, 24) < Timecode(1, 25)
    assert Timecode(12, 24).to_seconds() == Fraction(1, 2)
    expected = "Timecode('00:00:00;00', rate=30000/1001, drop_frame=True)"
    assert repr(Timecode(0, NTSC, True)) == expected


def test_importing_timecode_does_not_import_opentimelineio():
    code = "import sys, motionwright.timecode; print('opentimelineio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_rational_time_without_opentimelineio_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "opentimelineio", None)
    with pytest.raises(MissingExtraError, match="pip install opentimelineio"):
        Timecode(0, 24).to_rational_time()


def test_rational_time_round_trip():
    otio = pytest.importorskip("opentimelineio")
    rt = Timecode.parse("00:00:02:00", 24).to_rational_time()
    assert isinstance(rt, otio.opentime.RationalTime)
    assert rt.value == 48 and rt.rate == 24
    assert Timecode.from_rational_time(rt).frames == 48
