"""Human-readable durations, as apimachinery's `k8s.io/apimachinery/pkg/util/duration` prints them.

The AGE column of every `kubectl get` table is `HumanDuration(now - creationTimestamp)`. Go does the
arithmetic on an int64 count of nanoseconds (`time.Duration`) and truncates towards zero at each
step, so this module first turns the float seconds it is given into such a count (saturating at the
int64 limits, as Go's `Time.Sub` does) and then applies the same thresholds with integer division.

`human_duration` keeps 2-3 significant figures (`9m59s`, `179m`, `7d23h`, `2y5d`);
`short_human_duration` keeps one unit (`59s`, `59m`, `23h`, `364d`, `2y`). Both print `<invalid>`
below -1 s and `0s` between -1 s and 0 to tolerate clock skew.
"""

from __future__ import annotations

import math

_NS_PER_SECOND = 1_000_000_000
_NS_PER_MINUTE = 60 * _NS_PER_SECOND
_NS_PER_HOUR = 60 * _NS_PER_MINUTE
_MAX_NS = 2**63 - 1
_MIN_NS = -(2**63)

__all__ = ["human_duration", "short_human_duration"]


def _to_ns(seconds: float) -> int | None:
    """Seconds as Go `time.Duration` nanoseconds, saturated; None for NaN."""
    if math.isnan(seconds):
        return None
    if seconds >= _MAX_NS / _NS_PER_SECOND:
        return _MAX_NS
    if seconds <= _MIN_NS / _NS_PER_SECOND:
        return _MIN_NS
    return int(seconds * _NS_PER_SECOND)


def _trunc_div(a: int, b: int) -> int:
    """Integer division truncating towards zero, like Go's `/` on integers."""
    q = abs(a) // b
    return q if a >= 0 else -q


def human_duration(seconds: float) -> str:
    """apimachinery's `duration.HumanDuration`, for a duration given in seconds."""
    d = _to_ns(seconds)
    if d is None:
        return "<invalid>"
    secs = _trunc_div(d, _NS_PER_SECOND)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60 * 2:
        return f"{secs}s"
    minutes = d // _NS_PER_MINUTE
    if minutes < 10:
        s = secs % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = d // _NS_PER_HOUR
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(seconds: float) -> str:
    """apimachinery's `duration.ShortHumanDuration`, for a duration given in seconds."""
    d = _to_ns(seconds)
    if d is None:
        return "<invalid>"
    secs = _trunc_div(d, _NS_PER_SECOND)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60:
        return f"{secs}s"
    minutes = d // _NS_PER_MINUTE
    if minutes < 60:
        return f"{minutes}m"
    hours = d // _NS_PER_HOUR
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    # Go computes int(d.Hours()/24/365) in floating point.
    return f"{int(d / _NS_PER_HOUR / 24 / 365)}y"
