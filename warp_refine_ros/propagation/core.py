"""The +-K rule, written once: which keyframe labels which frame, in which direction, how two are
fused; and its incremental carrying out on frames.

Every frame within ``radius`` K of a keyframe is labeled. It is reached by the forward recursion
(eq. 1) of the nearest keyframe at or before it and the backward recursion (eq. 9-11) of the nearest
keyframe after it, each if at most K frames away, or both if those two keyframes are at most 2K apart
(they *bridge*: each reaches every frame between them); a frame both reach takes their fusion
(:func:`~warp_refine_ros.propagation.labelings.fuse`), reported from the nearer keyframe (the earlier
on a tie). Bridging gives every frame between keyframes spaced 2K apart, the usual layout, the second
keyframe's evidence where its own keyframe's labels lost motion's support. A keyframe cuts
propagation: the frames between two keyframes depend on those two keyframes and the frames between
them, nothing else.

Every driver asks :class:`KeyframePropagation`: bag_label's planner and engine prefetch
(:meth:`~KeyframePropagation.plan`, :meth:`~KeyframePropagation.windows`), its labeler (frames are let
go once final), the rerun rule (what a frame's labels depend on), keyframe cross-validation (which
keyframes reach a held-out one) and the live session (keyframe labels late and out of order, matched
by stamp, backward relabeling in steps in its idle moments: ``deferred_backward``).
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import islice

import numpy as np

from warp_refine_ros.propagation.keyframe_plan import Assignment, KeyframeWindow, Reach
from warp_refine_ros.propagation.labelings import Labeling, fuse
from warp_refine_ros.propagation.propagator import Frame, Propagator, Track


class Source(str, Enum):
    """Which labeling a frame has, in the order one is taken."""

    KEYFRAME = "keyframe"  # the human label itself
    FUSED = "fused"  # both recursions, fused per pixel
    FORWARD = "forward"  # the forward recursion from an earlier keyframe
    BACKWARD = "backward"  # the backward recursion from a later keyframe
    SEMANTIC = "semantic"  # reached by no keyframe: a driver's fallback, g alone (the live node's)

    def __str__(self) -> str:
        return self.value


@dataclass(eq=False)
class Slot:
    """A buffered frame and the labelings that reach it so far.

    ``ahead`` holds the forward recursion's labels more than K frames from their keyframe: the frame's
    labels only if a later keyframe bridges with that one, when they move to ``forward``."""

    frame: Frame
    keyframe: Labeling | None = None
    forward: Labeling | None = None
    backward: Labeling | None = None
    ahead: Labeling | None = None

    def reached_from_after(self, distance: int, radius: int) -> bool:
        """Whether a keyframe ``distance`` frames after this frame labels it: within K, or because it
        bridges with the keyframe whose forward recursion reached this frame (labels usable or ahead)."""
        before = self.forward if self.forward is not None else self.ahead
        return KeyframePropagation.reaches(distance, radius) or (
            before is not None and KeyframePropagation.bridges(before.offset + distance, radius)
        )

    @property
    def source(self) -> Source | None:
        """Which labeling the frame has now: its human label, the fusion of both directions, or one."""
        if self.keyframe is not None:
            return Source.KEYFRAME
        if self.forward is not None and self.backward is not None:
            return Source.FUSED
        if self.forward is not None:
            return Source.FORWARD
        return Source.BACKWARD if self.backward is not None else None

    @property
    def labeling(self) -> Labeling | None:
        """What the frame is labeled with now (see :attr:`source`)."""
        source = self.source
        if source is Source.FUSED and self.forward is not None and self.backward is not None:
            return fuse(self.forward, self.backward)
        if source is Source.KEYFRAME:
            return self.keyframe
        return self.forward if source is Source.FORWARD else self.backward


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
    """Buffered frames with their labelings; every change returns the slots whose labels changed.

    Its static methods state the rule for a whole stream from keyframe positions alone."""

    # --- the rule over a whole stream: keyframe positions only -----------------------------------

    @staticmethod
    def reaches(distance: int, radius: int) -> bool:
        """Whether a keyframe ``distance`` frames from a frame (either way) reaches it: the K of +-K."""
        return abs(distance) <= radius

    @staticmethod
    def bridges(gap: int, radius: int) -> bool:
        """Whether neighbouring keyframes ``gap`` frames apart both reach every frame between them: at
        most 2K apart, so each frame between is within K of one and takes both recursions, fused."""
        return gap <= 2 * radius

    @staticmethod
    def assignment(index: int, keyframes: Sequence[int], radius: int) -> Assignment | None:
        """How frame ``index`` is labeled among the sorted ``keyframes``, None if none reaches it."""
        position = bisect.bisect_right(keyframes, index)
        before = keyframes[position - 1] if position > 0 else None
        if before == index:
            return Assignment(index, Reach(index, 0))
        after = keyframes[position] if position < len(keyframes) else None
        bridged = (
            before is not None and after is not None and KeyframePropagation.bridges(after - before, radius)
        )
        reaches = [
            Reach(key, index - key)
            for key in (before, after)
            if key is not None and (bridged or KeyframePropagation.reaches(index - key, radius))
        ]
        if not reaches:
            return None
        reaches.sort(key=lambda reach: abs(reach.offset))  # stable: forward wins a tie
        return Assignment(index, reaches[0], reaches[1] if len(reaches) > 1 else None)

    @staticmethod
    def plan(num_frames: int, keyframes: Sequence[int], radius: int) -> list[Assignment]:
        """The frames that receive labels, in order, with the keyframes that reach them."""
        _check_radius(radius)
        keys = sorted(set(keyframes))
        found = (KeyframePropagation.assignment(index, keys, radius) for index in range(num_frames))
        return [assignment for assignment in found if assignment is not None]

    @staticmethod
    def windows(num_frames: int, keyframes: Sequence[int], radius: int) -> list[KeyframeWindow]:
        """Windows writing every labeled frame exactly once, in stream order: from one keyframe to the
        next, and the K-frame head before the first and tail after the last of each run of labeled
        frames."""
        keys = set(keyframes)
        labeled = [a.index for a in KeyframePropagation.plan(num_frames, sorted(keys), radius)]
        windows: list[KeyframeWindow] = []
        run_start = 0
        for position, index in enumerate(labeled):
            if position == 0 or labeled[position - 1] != index - 1:
                run_start = index
            if index in keys or position + 1 == len(labeled) or labeled[position + 1] != index + 1:
                previous_end = windows[-1].last if windows else -1
                joined = previous_end >= run_start  # the previous window ended at a keyframe of this run
                first = previous_end if joined else run_start
                inside = tuple(i for i in range(first, index + 1) if i in keys)
                windows.append(KeyframeWindow(first, index, first + 1 if joined else first, inside))
        return windows

    # --- the rule carried out on buffered frames ---------------------------------------------------

    def __init__(self, propagator: Propagator, radius: int, *, deferred_backward: bool = False) -> None:
        _check_radius(radius)
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
        if chain is not None and self._carries_forward(chain.offset + 1):
            track = self.propagator.advance(chain.track, chain.frame, frame)
            self._chain = _Chain(frame, track, chain.keyframe_stamp_ns, chain.offset + 1)
            self._set_forward(slot, self._labeling(track, chain.keyframe_stamp_ns, chain.offset + 1))
        else:
            self._chain = None  # no keyframe can bridge to it any more: stop computing, free the state
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
        slot.forward = slot.backward = slot.ahead = None
        track = self.propagator.start(labels)
        self._end_passes_behind(position)
        changed = [slot, *self._forward_from(position, track, stamp)]
        if position > 0:
            self._passes.append(self._backward_pass(slot, track))
        if (later := self._bridged_later(position)) is not None:  # arrived after a keyframe it bridges with
            self._passes = deque(p for p in self._passes if p.keyframe is not later)
            self._passes.append(self._backward_pass(later, self.propagator.start(later.keyframe.labels)))
        return changed if self.deferred_backward else changed + self.relabel_all()

    def position_of(self, stamp_ns: int, tolerance_ns: int) -> int | None:
        """The buffered frame a keyframe label stamped ``stamp_ns`` belongs to: the nearest within the
        tolerance (the earlier on a tie), as :func:`nearest_stamp` matches a bag's labels."""
        if not self.slots:
            return None
        stamps = [slot.frame.stamp_ns for slot in self.slots]
        position = nearest_stamp(stamps, stamp_ns)
        return position if abs(stamps[position] - stamp_ns) <= tolerance_ns else None

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
        while waiting := [p for p in self._passes if self._settles(p)]:
            slot = self._step(waiting[0])
            if slot is None:
                self._passes.remove(waiting[0])
            else:
                changed.append(slot)
        return changed

    def pop_final(self) -> list[Slot]:
        """Let go of the frames no later keyframe can reach (backward passes run at once): every frame
        once the newest is a keyframe, else those further than K from the next frame."""
        if self.slots and self.slots[-1].keyframe is not None:
            return [self.pop_oldest() for _ in range(len(self.slots))]
        final = []
        while self.slots and not self.slots[0].reached_from_after(len(self.slots), self.radius):
            final.append(self.pop_oldest())
        return final

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

    def _settles(self, backward: _BackwardPass) -> bool:
        """Whether a waiting pass may still label the oldest frame, or has ended (its next frame has left
        the buffer): either way its next step is due before the oldest frame goes."""
        position = self._index(backward.target)
        return position < 0 or self.slots[0].reached_from_after(backward.distance + position, backward.radius)

    def _carries_forward(self, offset: int) -> bool:
        """Whether the forward recursion goes on to ``offset``: within K, or where a keyframe that comes
        later may still bridge with its keyframe (fewer than 2K frames on)."""
        return self.reaches(offset, self.radius) or self.bridges(offset + 1, self.radius)

    def _set_forward(self, slot: Slot, labeling: Labeling) -> None:
        """Forward labels for a frame: its own within K or when a keyframe after it bridges, else ahead."""
        backward = slot.backward
        bridged = backward is not None and self.bridges(labeling.offset - backward.offset, self.radius)
        usable = self.reaches(labeling.offset, self.radius) or bridged
        slot.forward, slot.ahead = (labeling, None) if usable else (None, labeling)

    def _backward_pass(self, keyframe: Slot, track: Track) -> _BackwardPass:
        """The backward recursion of ``keyframe`` from the frame before it."""
        position = self._index(keyframe)
        target = self.slots[position - 1] if position > 0 else None
        return _BackwardPass(keyframe, self.propagator, self.radius, track, keyframe.frame, target, 1)

    def _bridged_later(self, position: int) -> Slot | None:
        """The next keyframe after ``position`` if the two bridge and its backward recursion, run before
        this keyframe was known, stopped at K."""
        for distance, slot in enumerate(islice(self.slots, position + 1, None), start=1):
            if slot.keyframe is not None:
                bridged = self.bridges(distance, self.radius) and not self.reaches(distance - 1, self.radius)
                return slot if bridged else None
        return None

    def _forward_from(self, position: int, track: Track, stamp_ns: int) -> Iterator[Slot]:
        """Forward labels for the frames after a new keyframe, up to the next keyframe or as far as one
        may still bridge."""
        source, offset = self.slots[position].frame, 0
        later = list(islice(self.slots, position + 1, None))
        for slot in later:
            if slot.keyframe is not None or not self._carries_forward(offset + 1):
                break
            track = self.propagator.advance(track, source, slot.frame)
            source, offset = slot.frame, offset + 1
            self._set_forward(slot, self._labeling(track, stamp_ns, offset))
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
            or not target.reached_from_after(backward.distance, backward.radius)
        ):
            return None
        propagator = backward.propagator
        backward.track = propagator.advance(backward.track, backward.source, target.frame)
        target.backward = propagator.labeling(
            backward.track, backward.keyframe.frame.stamp_ns, -backward.distance
        )
        if target.ahead is not None and self.bridges(
            target.ahead.offset + backward.distance, backward.radius
        ):
            target.forward, target.ahead = target.ahead, None
        backward.source, backward.distance = target.frame, backward.distance + 1
        backward.target = self.slots[position - 1] if position > 0 else None
        return target

    def _labeling(self, track: Track, keyframe_stamp_ns: int, offset: int) -> Labeling:
        return self.propagator.labeling(track, keyframe_stamp_ns, offset)


def nearest_stamp(stamps: Sequence[int], stamp_ns: int) -> int:
    """Position of the stamp nearest ``stamp_ns`` in increasing, non-empty ``stamps`` (the earlier on a
    tie): how a keyframe label finds its image."""
    position = bisect.bisect_left(stamps, stamp_ns)
    candidates = [i for i in (position - 1, position) if 0 <= i < len(stamps)]
    return min(candidates, key=lambda i: abs(stamps[i] - stamp_ns))


def _check_radius(radius: int) -> None:
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
