"""The labeling rule carried out incrementally: frames in order, keyframe labels at any buffered frame,
labelings out as they change.

Every frame within ``radius`` of a keyframe is reached by the forward recursion (eq. 1) of the
nearest keyframe before it and the backward recursion (eq. 9-11) of the nearest keyframe after it;
a frame both reach takes their fusion (:func:`~warp_refine_ros.propagation.labelings.fuse`). A keyframe
may be set on any buffered frame, in any order: its frame's later neighbours are propagated forward
again up to the next keyframe, its earlier ones backward down to the previous keyframe. ``plan`` in
:mod:`schedule` states the same rule for a whole stream at once; the window labeler (bag_label) and
the live session are two drivers of this class that differ only in when they let a frame go, and in
when a keyframe's backward pass runs: at once for bag_label, a step at a time in the live session's
idle moments (``deferred_backward``), so relabeling the past never holds up the newest frame.
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


@dataclass(eq=False)
class _BackwardPass:
    """A keyframe's backward recursion (eq. 9-11) down to the previous keyframe or the radius, carried
    out one frame at a time; it keeps the propagator and radius it was started with."""

    keyframe: Slot
    propagator: Propagator
    radius: int
    track: Track
    source: Frame
    target: Slot | None  # the frame it labels next
    distance: int  # frames from the keyframe to ``target``


@dataclass
class _Chain:
    """The forward recursion as far as the newest frame."""

    frame: Frame
    track: Track
    keyframe_stamp_ns: int
    offset: int


class KeyframePropagation:
    """Buffered frames with their labelings; every change returns the slots whose labels changed."""

    def __init__(self, propagator: Propagator, radius: int, *, deferred_backward: bool = False) -> None:
        if radius < 0:
            raise ValueError(f"radius must be >= 0, got {radius}")
        self.propagator = propagator
        self.radius = radius
        self.deferred_backward = deferred_backward  # backward passes wait for relabel_step()
        self.slots: deque[Slot] = deque()
        self._chain: _Chain | None = None
        self._passes: deque[_BackwardPass] = deque()  # oldest first

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
        """Make the buffered frame at ``position`` a keyframe; propagate from it both ways (eq. 1, 9-11).

        Returns the keyframe and the frames relabeled forward; with ``deferred_backward`` the backward
        pass waits for :meth:`relabel_step`, else its frames are returned too."""
        slot = self.slots[position]
        if labels.shape != slot.frame.image.shape[:2]:  # callers validate labels: this is a bug
            raise ValueError(
                f"keyframe label of shape {labels.shape} for a frame of {slot.frame.image.shape[:2]}"
            )
        stamp = slot.frame.stamp_ns
        slot.keyframe = Labeling.of_keyframe(labels, stamp)
        track = self.propagator.start(labels)
        self._end_passes_behind(position)
        changed = [slot, *self._forward_from(position, track, stamp)]
        if position > 0:
            self._passes.append(
                _BackwardPass(
                    slot, self.propagator, self.radius, track, slot.frame, self.slots[position - 1], 1
                )
            )
        return changed if self.deferred_backward else changed + self.relabel_all()

    @property
    def relabeling(self) -> bool:
        """Backward passes are waiting for :meth:`relabel_step`."""
        return bool(self._passes)

    def relabel_step(self) -> list[Slot]:
        """One frame of the oldest waiting backward pass: the slot it relabeled, or [] if none is left."""
        while self._passes:
            slot = self._step(self._passes[0])
            if slot is not None:
                return [slot]
            self._passes.popleft()
        return []

    def relabel_all(self) -> list[Slot]:
        """Every waiting backward pass to its end: the slots relabeled, in the order they were."""
        changed = []
        while self._passes:
            changed += self.relabel_step()
        return changed

    def settle_oldest(self) -> list[Slot]:
        """Run the waiting backward steps that may still reach the oldest frame, so it may be let go."""
        changed = []
        while waiting := [p for p in self._passes if p.distance + self._index(p.target) <= p.radius]:
            slot = self._step(waiting[0])
            if slot is None:
                self._passes.remove(waiting[0])
            else:
                changed.append(slot)
        return changed

    def pop_oldest(self) -> Slot:
        """Let the oldest frame go (its labeling is final to the caller); the flow back to it goes too."""
        slot = self.slots.popleft()
        if self.slots:
            self.slots[0].frame.flows.pop(slot.frame.stamp_ns, None)
        return slot

    def clear(self) -> None:
        """Forget every frame, the forward recursion and the waiting backward passes."""
        self.slots.clear()
        self._chain = None
        self._passes.clear()

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

    def _end_passes_behind(self, position: int) -> None:
        """A new keyframe at ``position`` ends the waiting passes it replaces: its own frame's earlier
        one, and later keyframes' passes already past it, whose frames its own pass reaches first."""
        ending = [p for p in self._passes if self._index(p.target) <= position <= self._index(p.keyframe)]
        for backward in ending:
            self._passes.remove(backward)

    def _index(self, slot: Slot | None) -> int:
        """Position of a buffered slot; -1 for one no longer buffered (or None)."""
        try:
            return self.slots.index(slot) if slot is not None else -1
        except ValueError:
            return -1

    def _step(self, backward: _BackwardPass) -> Slot | None:
        """Label the pass's next frame backward; None when the pass has ended (eq. 9-11)."""
        target, position = backward.target, self._index(backward.target)
        if (
            target is None
            or position < 0
            or target.keyframe is not None
            or backward.distance > backward.radius
        ):
            return None
        propagator = backward.propagator
        backward.track = propagator.advance(backward.track, backward.source, target.frame)
        target.backward = propagator.labeling(
            backward.track, backward.keyframe.frame.stamp_ns, -backward.distance
        )
        backward.source, backward.distance = target.frame, backward.distance + 1
        backward.target = self.slots[position - 1] if position > 0 else None
        return target

    def _labeling(self, track: Track, keyframe_stamp_ns: int, offset: int) -> Labeling:
        return self.propagator.labeling(track, keyframe_stamp_ns, offset)
