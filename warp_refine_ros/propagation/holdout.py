"""A keyframe held out and labeled from its neighbouring keyframes: the unit of keyframe cross-validation.

The held-out frame is reached exactly as ``bag_label`` reaches a frame between two keyframes: the
forward recursion from the keyframe before it, the backward recursion from the keyframe after it
(eq. 1 and 9-11), and the two fused. Its own label is never an input, so comparing the result with
it measures how well the labels survive that many frames of propagation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from warp_refine_ros.propagation.core import KeyframePropagation
from warp_refine_ros.propagation.labelings import Labeling, fuse
from warp_refine_ros.propagation.propagator import Frame, Propagator

HELD_OUT_REACH = 4
"""A held-out keyframe is reached from neighbouring keyframes at most 4 x K frames away (bag_label's
frames: K). Keyframes are spaced about 2K apart, so this takes the spacing a radius is chosen for and
what lies a little beyond, and bounds the frames and flows held in memory while candidates are scored."""


def held_out_radius(radius: int) -> int:
    """How far keyframe cross-validation lets labels travel to a held-out keyframe, for bag_label's K."""
    return HELD_OUT_REACH * max(radius, 1)


@dataclass(frozen=True)
class HeldOut:
    """The held-out frame's labels from each side that reaches it (None where none does), and fused."""

    forward: Labeling | None
    backward: Labeling | None

    @property
    def fused(self) -> Labeling | None:
        """What bag_label writes when both keyframes reach the frame."""
        if self.forward is None or self.backward is None:
            return None
        return fuse(self.forward, self.backward)

    @property
    def written(self) -> Labeling:
        """What bag_label writes for the frame: fused where both keyframes reach it, else the one side."""
        found = self.fused or self.forward or self.backward
        if found is None:
            raise ValueError("a held-out frame needs a keyframe on at least one side")
        return found


def label_held_out(
    propagator: Propagator,
    frames: Sequence[Frame],
    position: int,
    before: np.ndarray | None,
    after: np.ndarray | None,
) -> HeldOut:
    """Label ``frames[position]`` from the keyframe label ``before`` of ``frames[0]`` (forward) and
    ``after`` of ``frames[-1]`` (backward); either may be None when there is no keyframe on that side.
    Each side is the labeling core bag_label drives, reaching as far as the keyframe is."""
    reach = len(frames)
    forward = backward = None
    if before is not None:
        core = KeyframePropagation(propagator, reach)
        core.add_frame(frames[0], before)
        for frame in frames[1 : position + 1]:
            core.add_frame(frame)
        forward = core.slots[-1].forward
    if after is not None:
        core = KeyframePropagation(propagator, reach)
        for frame in frames[position:]:
            core.add_frame(frame)
        core.set_keyframe(len(core.slots) - 1, after)
        backward = core.slots[0].backward
    return HeldOut(forward, backward)
