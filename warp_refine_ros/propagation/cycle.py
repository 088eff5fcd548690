"""Cycle propagation (section 3.4, Fig. 4): the training input of the refiner Omega.

From a keyframe t, warp-inpaint runs l steps away (forward or backward in time) and l steps back to
t. Omega learns on what it would see on the last of those steps: the warped labels and the trust mask
arriving at t (before eq. 5), with the keyframe's own label as the target, so no label of a non-key
frame is ever needed. For all lengths 1..L the steps away are shared, so they run once; each cycle then
walks back on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from warp_refine_ros.propagation.propagator import Arrival, Frame, Propagator, Track


@dataclass(frozen=True)
class CycleEnd:
    """What Omega sees when a cycle arrives back at its keyframe."""

    channels: np.ndarray  # (H, W) uint8 arg-max of the warped labels Lm, NO_CLASS where motion left the image
    trusted: np.ndarray  # (H, W) bool, the trust mask M of eq. 6


def cycles(propagator: Propagator, frames: Sequence[Frame], labels: np.ndarray) -> list[CycleEnd]:
    """The cycle ends at the keyframe ``frames[0]`` for l = 1..len(frames) - 1; ``frames`` runs away from
    it in one direction (t, t+1, ... for a forward cycle, t, t-1, ... for a backward one)."""
    ops = propagator.ops
    return [
        CycleEnd(ops.channels(arrival.warped), ops.mask(arrival.trusted))
        for arrival in cycle_arrivals(propagator, frames, labels)
    ]


def cycle_arrivals(propagator: Propagator, frames: Sequence[Frame], labels: np.ndarray) -> list[Arrival]:
    """What each cycle (l = 1..len(frames) - 1) brings back to the keyframe ``frames[0]`` on its last
    step, before eq. 11, on the propagator's array backend."""
    state = propagator.keyframe(labels)  # eq. 2
    away = []
    for source, target in pairwise(frames):  # forward stage, eq. 3-5
        state = propagator.warp_inpaint(state, source, target)
        away.append(state)
    arrivals = []
    for length, state in enumerate(away, start=1):
        for source, target in pairwise(frames[length:0:-1]):  # backward stage to t + 1, eq. 9-11
            state = propagator.warp_inpaint(state, source, target)
        arrivals.append(propagator.arrive(Track(state, None), frames[1], frames[0]))
    return arrivals
