"""What the +-K rule plans for a stream, from keyframe positions alone: which keyframes reach each frame
(:class:`Assignment`), and the windows that can be labeled on their own (:class:`KeyframeWindow`).

The rule itself is :class:`~warp_refine_ros.propagation.core.KeyframePropagation`'s; these are its
answers.
"""

from __future__ import annotations

from collections.abc import Mapping
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


@dataclass(frozen=True)
class KeyframeWindow:
    """Frames ``first..last`` of a stream that, propagated on their own, give frames ``write_from..last``
    exactly their labels in the whole stream: those labels depend on these frames and the labels of
    the keyframes inside, nothing else (the unit of resuming, of parallel work and of relabeling)."""

    first: int
    last: int
    write_from: int
    keyframes: tuple[int, ...]  # frame indices of the keyframes inside

    @property
    def written(self) -> range:
        """The frames this window labels."""
        return range(self.write_from, self.last + 1)

    def shifted(self, by: int) -> KeyframeWindow:
        """The same window with every frame index moved by ``by`` (a segment's start in its stream)."""
        moved = tuple(index + by for index in self.keyframes)
        return KeyframeWindow(self.first + by, self.last + by, self.write_from + by, moved)

    def inputs(self, labels: Mapping[int, object]) -> tuple:
        """What the labels of every frame it writes are a function of, given an identity of each keyframe
        label (a hash, say): two windows with equal inputs write the same labels."""
        return self.first, self.last, tuple((index, labels[index]) for index in self.keyframes)
