"""Streaming keyframe propagation over one camera's frames with memory bounded by the radius K.

Frames are pushed in order, each with its keyframe label if it has one; keyframes arrive in stream
order (bag_label knows them in advance). A frame is final once no later keyframe can reach it: when
a keyframe arrives after it, or when K more frames have passed. Only frames that may still change are
held, so memory is at most K+1 frames whatever the length of the bag. The propagation itself is
:class:`~warp_refine_ros.propagation.core.KeyframePropagation`, which the live session drives too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from warp_refine_ros.propagation.core import KeyframePropagation
from warp_refine_ros.propagation.labelings import Labeling
from warp_refine_ros.propagation.propagator import Frame, Propagator


@dataclass(frozen=True)
class LabeledFrame:
    """A finished frame: the image it labels and its labeling."""

    frame: Frame
    labeling: Labeling


class WindowLabeler:
    """Labels every frame within +-radius of a keyframe, forward and backward, fusing overlaps."""

    def __init__(self, propagator: Propagator, radius: int) -> None:
        self._core = KeyframePropagation(propagator, radius)
        self.propagator = propagator
        self.radius = radius

    def push(self, frame: Frame, keyframe_labels: np.ndarray | None = None) -> Iterator[LabeledFrame]:
        """Add the next frame (with its human label if it is a keyframe); yield frames now final."""
        core = self._core
        core.add_frame(frame, keyframe_labels)
        if keyframe_labels is not None:  # nothing before a keyframe can change any more, nor the keyframe
            while core.slots:
                yield from self._release()
        while len(core.slots) > self.radius:  # K frames on: no later keyframe can reach the oldest
            yield from self._release()

    def finish(self) -> Iterator[LabeledFrame]:
        """End of stream: frames still held keep the labels they have (no later keyframe comes)."""
        while self._core.slots:
            yield from self._release()
        self._core.clear()

    def _release(self) -> Iterator[LabeledFrame]:
        slot = self._core.pop_oldest()
        if (labeling := slot.labeling) is not None:
            yield LabeledFrame(slot.frame, labeling)
