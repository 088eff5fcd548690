"""Stops at lights: the vehicle brakes, stands still for a while, and pulls away again.

A stop is ``(start_s, seconds)``: the speed falls to 0 over the ``RAMP_S`` seconds before
``start_s`` and rises back over the ``RAMP_S`` seconds after the stand, both on a cosine ramp.
The ego motion then runs on *drive time*: the time a vehicle that never stopped would have needed
to cover the same ground. Drive time stands still while the vehicle does, so the whole pose (travel,
sway, bounce, pan) freezes, while the traffic, which runs on clock time, goes on moving.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

RAMP_S = 2.0
"""Seconds of braking before a stop, and of pulling away after it."""


def stop_checks(stops: Sequence[Sequence[float]]) -> list[tuple[bool, str]]:
    """(ok, message) for each rule a list of stops must follow; used by DriveConfig's validation."""
    checks = [
        (
            len(stop) == 2 and stop[0] >= 0 and stop[1] > 0,
            f"stops entry {tuple(stop)} (need start_s >= 0, s > 0)",
        )
        for stop in stops
    ]
    if not all(ok for ok, _ in checks):
        return checks
    for before, after in itertools.pairwise(stops):
        gap = after[0] - (before[0] + before[1])
        message = (
            f"stops {tuple(before)} and {tuple(after)} overlap (need them in order and "
            f"{2 * RAMP_S:g} s apart, to pull away and brake again)"
        )
        checks.append((gap >= 2 * RAMP_S, message))
    return checks


def drive_time(t: float, stops: Sequence[tuple[float, float]]) -> float:
    """Drive time at clock time ``t``: ``t`` less the time lost to the stops so far (from t = 0)."""
    if not stops:
        return t
    return t - sum(_lost(t, start, seconds) - _lost(0.0, start, seconds) for start, seconds in stops)


def _lost(t: float, start: float, seconds: float) -> float:
    """Integral of (1 - speed fraction) up to ``t`` for one stop: the seconds it has cost so far."""
    r = RAMP_S
    if t <= start - r:
        return 0.0
    if t <= start:  # braking: speed fraction 0.5 (1 + cos(pi x / r))
        x = t - (start - r)
        return 0.5 * (x - r / math.pi * math.sin(math.pi * x / r))
    if t <= start + seconds:
        return 0.5 * r + (t - start)
    y = min(t - start - seconds, r)  # pulling away: speed fraction 0.5 (1 - cos(pi y / r))
    return 0.5 * r + seconds + 0.5 * (y + r / math.pi * math.sin(math.pi * y / r))
