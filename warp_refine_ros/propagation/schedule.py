"""Which keyframe labels each frame: every frame within +-K of a keyframe, from the nearest ones.

A frame is reached by the forward recursion of the closest keyframe before it and the backward
recursion of the closest keyframe after it, each if no further than K frames away; when both reach
it their results are fused. This module states the rule as a pure plan; :mod:`window` carries it out
on a stream and must agree with it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Reach:
    """A keyframe reaching a frame: its index and the signed offset of the frame from it."""

    keyframe: int
    offset: int  # > 0: after the keyframe (forward recursion), < 0: before it (backward), 0: itself


@dataclass(frozen=True)
class Assignment:
    """How frame ``index`` gets its label: its nearest reaching keyframe, and the other one if any."""

    index: int
    nearest: Reach
    other: Reach | None = None

    @property
    def forward(self) -> bool:
        """Reached by the forward recursion of the keyframe before it: it needs g and its flow to the
        frame before."""
        return any(reach.offset > 0 for reach in (self.nearest, self.other) if reach is not None)

    @property
    def backward(self) -> bool:
        """Reached by the backward recursion of the keyframe after it: it needs g and its flow to the
        frame after."""
        return any(reach.offset < 0 for reach in (self.nearest, self.other) if reach is not None)


def plan(num_frames: int, keyframes: Sequence[int], radius: int) -> list[Assignment]:
    """The frames that receive labels, in order, with the keyframes that reach them."""
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    keys = sorted(set(keyframes))
    assignments = []
    for index in range(num_frames):
        position = bisect.bisect_right(keys, index)
        before = keys[position - 1] if position > 0 else None
        if before == index:
            assignments.append(Assignment(index, Reach(index, 0)))
            continue
        after = keys[position] if position < len(keys) else None
        reaches = [
            Reach(key, index - key)
            for key in (before, after)
            if key is not None and abs(index - key) <= radius
        ]
        if reaches:
            reaches.sort(key=lambda reach: abs(reach.offset))  # stable: forward wins a tie
            assignments.append(Assignment(index, reaches[0], reaches[1] if len(reaches) > 1 else None))
    return assignments
