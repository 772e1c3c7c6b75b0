"""apimachinery's HumanDuration and ShortHumanDuration, boundary by boundary."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubesvc.lib.duration import human_duration, short_human_duration

M, H, D, Y = 60, 3600, 86400, 365 * 86400

HUMAN = [
    (-3, "<invalid>"),
    (-2, "<invalid>"),
    (-1.9, "0s"),  # Go truncates -1.9s to -1s: clock skew tolerated
    (-1, "0s"),
    (-0.5, "0s"),
    (0, "0s"),
    (0.999, "0s"),
    (1, "1s"),
    (59, "59s"),
    (119, "119s"),
    (119.99, "119s"),
    (2 * M, "2m"),
    (2 * M + 1, "2m1s"),
    (9 * M + 59, "9m59s"),
    (10 * M, "10m"),
    (10 * M + 59, "10m"),
    (2 * H + 59 * M, "179m"),
    (3 * H - 1, "179m"),
    (3 * H, "3h"),
    (3 * H + M, "3h1m"),
    (7 * H + 59 * M, "7h59m"),
    (7 * H + 59 * M + 59, "7h59m"),
    (8 * H, "8h"),
    (47 * H, "47h"),
    (47 * H + 59 * M, "47h"),
    (2 * D, "2d"),
    (2 * D + H, "2d1h"),
    (7 * D + 23 * H, "7d23h"),
    (8 * D, "8d"),
    (114 * D, "114d"),
    (729 * D, "729d"),
    (2 * Y, "2y"),
    (2 * Y + D, "2y1d"),
    (7 * Y + 364 * D, "7y364d"),
    (8 * Y, "8y"),
    (10 * Y + 100 * D, "10y"),
    (1e12, "292y"),  # Go durations saturate at about 292 years
    (math.inf, "292y"),
    (-math.inf, "<invalid>"),
    (math.nan, "<invalid>"),
]

SHORT = [
    (-2, "<invalid>"),
    (-1, "0s"),
    (0, "0s"),
    (59, "59s"),
    (60, "1m"),
    (59 * M + 59, "59m"),
    (H, "1h"),
    (23 * H + 59 * M, "23h"),
    (D, "1d"),
    (364 * D, "364d"),
    (Y, "1y"),
    (8 * Y + 300 * D, "8y"),
]


@pytest.mark.parametrize(("seconds", "expected"), HUMAN)
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


@pytest.mark.parametrize(("seconds", "expected"), SHORT)
def test_short_human_duration(seconds: float, expected: str) -> None:
    assert short_human_duration(seconds) == expected


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_never_raises_and_is_short(seconds: float) -> None:
    for render in (human_duration, short_human_duration):
        out = render(seconds)
        assert out == "<invalid>" or (out[-1] in "smhdy" and len(out) <= 9)
