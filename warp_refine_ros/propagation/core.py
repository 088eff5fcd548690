"""The labeling rule carried out incrementally: frames in order, keyframe labels at any buffered frame,
labelings out as they change.

Every frame within ``radius`` of a keyframe is reached by the forward recursion (eq. 1) of the
nearest keyframe before it and the backward recursion (eq. 9-11) of the nearest keyframe after it;
a frame both reach takes their fusion (:func:`~warp_refine_ros.propagation.labelings.fuse`). A keyframe
may be set on any buffered frame, in any order: its frame's later neighbours are propagated forward
again up to the next keyframe, its earlier ones backward down to the previous keyframe. ``plan`` in
:mod:`schedule` states the same rule for a whole stream at once; the window labeler (bag_label) and
the live session are two drivers of this class that differ only in when they let a frame go.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np

from warp_refine_ros.propagation.labelings import Labeling, fuse
from warp_refine_ros.propagation.propagator import Frame, Propagator, Track


@dataclass(eq=False)
class Slot:
    """A buffered frame and the labelings that reach it so far."""

    frame: Frame
    keyframe: Labeling | None = None
    forward: Labeling | None = None
    backward: Labeling | None = None

    @property
    def labeling(self) -> Labeling | None:
        """What the frame is labeled with now: its human label, the fusion of both directions, or one."""
        if self.keyframe is not None:
            return self.keyframe
        if self.forward is not None and self.backward is not None:
            return fuse(self.forward, self.backward)
        return self.forward or self.backward


@dataclass
class _Chain:
    """The forward recursion as far as the newest frame."""

    frame: Frame
    track: Track
    keyframe_stamp_ns: int
    offset: int


class KeyframePropagation:
    """Buffered frames with their labelings; every change returns the slots whose labels changed."""

    def __init__(self, propagator: Propagator, radius: int) -> None:
        if radius < 0:
            raise ValueError(f"radius must be >= 0, got {radius}")
        self.propagator = propagator
        self.radius = radius
        self.slots: deque[Slot] = deque()
        self._chain: _Chain | None = None

    def add_frame(self, frame: Frame, keyframe_labels: np.ndarray | None = None) -> list[Slot]:
        """The next frame, a keyframe if its label is given; labeled forward at once otherwise (eq. 1).

        The chain always ends at the newest frame before this one (or is None): every frame extends or
        ends it and :meth:`clear` drops it."""
        slot = Slot(frame)
        self.slots.append(slot)
        if keyframe_labels is not None:
            return self.set_keyframe(len(self.slots) - 1, keyframe_labels)
        chain = self._chain
        if chain is not None and chain.offset < self.radius:
            track = self.propagator.advance(chain.track, chain.frame, frame)
            self._chain = _Chain(frame, track, chain.keyframe_stamp_ns, chain.offset + 1)
            slot.forward = self._labeling(track, chain.keyframe_stamp_ns, chain.offset + 1)
        else:
            self._chain = None  # beyond K: stop computing and free the state
        return [slot]

    def set_keyframe(self, position: int, labels: np.ndarray) -> list[Slot]:
        """Make the buffered frame at ``position`` a keyframe; propagate from it both ways (eq. 1, 9-11)."""
        slot = self.slots[position]
        if labels.shape != slot.frame.image.shape[:2]:  # callers validate labels: this is a bug
            raise ValueError(
                f"keyframe label of shape {labels.shape} for a frame of {slot.frame.image.shape[:2]}"
            )
        stamp = slot.frame.stamp_ns
        slot.keyframe = Labeling.of_keyframe(labels, stamp)
        track = self.propagator.start(labels)
        return [
            slot,
            *self._forward_from(position, track, stamp),
            *self._backward_from(position, track, stamp),
        ]

    def pop_oldest(self) -> Slot:
        """Let the oldest frame go (its labeling is final to the caller); the flow back to it goes too."""
        slot = self.slots.popleft()
        if self.slots:
            self.slots[0].frame.flows.pop(slot.frame.stamp_ns, None)
        return slot

    def clear(self) -> None:
        """Forget every frame and the forward recursion."""
        self.slots.clear()
        self._chain = None

    def _forward_from(self, position: int, track: Track, stamp_ns: int) -> Iterator[Slot]:
        """Forward labels for the frames after a new keyframe, up to the next keyframe or the radius."""
        source, offset = self.slots[position].frame, 0
        later = list(islice(self.slots, position + 1, None))
        for slot in later:
            if slot.keyframe is not None or offset >= self.radius:
                break
            track = self.propagator.advance(track, source, slot.frame)
            source, offset = slot.frame, offset + 1
            slot.forward = self._labeling(track, stamp_ns, offset)
            yield slot
        if not any(slot.keyframe is not None for slot in later):  # else a newer keyframe owns the chain
            reached_newest = source is self.slots[-1].frame
            self._chain = _Chain(source, track, stamp_ns, offset) if reached_newest else None

    def _backward_from(self, position: int, track: Track, stamp_ns: int) -> Iterator[Slot]:
        """Backward labels for the frames before a new keyframe, down to the previous one or the radius."""
        source = self.slots[position].frame
        earlier = reversed(list(islice(self.slots, 0, position)))
        for distance, slot in enumerate(earlier, start=1):
            if slot.keyframe is not None or distance > self.radius:
                return
            track = self.propagator.advance(track, source, slot.frame)
            source = slot.frame
            slot.backward = self._labeling(track, stamp_ns, -distance)
            yield slot

    def _labeling(self, track: Track, keyframe_stamp_ns: int, offset: int) -> Labeling:
        return self.propagator.labeling(track, keyframe_stamp_ns, offset)
