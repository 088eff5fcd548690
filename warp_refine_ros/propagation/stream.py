"""One camera's frames labeled in order with memory bounded by the radius K: bag_label's labeler.

Frames are pushed in order, each with its keyframe label if it has one (bag_label knows them in
advance). A frame is given out once final: once no later keyframe can reach it
(:meth:`~warp_refine_ros.propagation.core.KeyframePropagation.pop_final`), so at most 2K frames are
held whatever the length of the bag (a keyframe that bridges with the one before may still come). The
live session drives the same :class:`~warp_refine_ros.propagation.core.KeyframePropagation`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from warp_refine_ros.propagation.core import KeyframePropagation, Slot
from warp_refine_ros.propagation.labelings import Labeling
from warp_refine_ros.propagation.propagator import Frame, Propagator


@dataclass(frozen=True)
class LabeledFrame:
    """A finished frame: the image it labels and its labeling."""

    frame: Frame
    labeling: Labeling


class StreamLabeler:
    """Labels every frame within +-radius of a keyframe, forward and backward, fusing overlaps."""

    def __init__(self, propagator: Propagator, radius: int) -> None:
        self._core = KeyframePropagation(propagator, radius)

    def push(self, frame: Frame, keyframe_labels: np.ndarray | None = None) -> list[LabeledFrame]:
        """Add the next frame (with its human label if it is a keyframe); the frames now final."""
        self._core.add_frame(frame, keyframe_labels)
        return _labeled(self._core.pop_final())

    def finish(self) -> list[LabeledFrame]:
        """End of stream: frames still held keep the labels they have (no later keyframe comes)."""
        held = [self._core.pop_oldest() for _ in range(len(self._core.slots))]
        self._core.clear()
        return _labeled(held)


def _labeled(slots: Iterable[Slot]) -> list[LabeledFrame]:
    """The labeled frames among ``slots`` (a frame no keyframe reaches has no labels)."""
    return [LabeledFrame(slot.frame, labeling) for slot in slots if (labeling := slot.labeling) is not None]
