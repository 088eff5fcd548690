"""A camera stream with its keyframes, and the held-out keyframes keyframe cross-validation labels.

A held-out keyframe is labeled from the keyframes next to it in the same stream (and the same image
size): the frames from the one before to the one after. Only keyframe labels are ever read.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from warp_refine_ros.bags.keyframes import KeyframeSet
from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.bags.stream_index import StreamIndex
from warp_refine_ros.propagation import Frame, KeyframePropagation
from warp_refine_ros.propagation.holdout import held_out_radius


@dataclass(frozen=True)
class LabeledStream:
    """One camera of one bag with the keyframe labels matched to its frames."""

    bag: Path
    topic: str
    index: StreamIndex
    keyframes: dict[int, int]  # frame index -> keyframe label stamp
    labels: KeyframeSet

    def read(self, first: int, last: int) -> list[Frame]:
        """Frames ``first..last`` decoded, in stream order."""
        with BagReader(self.bag) as reader:
            return reader.frames(self.index, first, last)


@dataclass(frozen=True)
class HeldOutKeyframe:
    """A keyframe at ``position`` held out and labeled from the neighbouring keyframes that reach it,
    ``first`` before and ``last`` after (equal to ``position`` on a side that has none)."""

    stream: LabeledStream
    first: int
    position: int
    last: int

    @property
    def keyframe(self) -> int:
        """The stamp of the held-out keyframe label."""
        return self.stream.keyframes[self.position]

    @property
    def distances(self) -> list[int]:
        """Frames between the held-out keyframe and each neighbour that reaches it."""
        return [d for d in (self.position - self.first, self.last - self.position) if d]


def held_out_keyframes(streams: Iterable[LabeledStream], radius: int) -> list[HeldOutKeyframe]:
    """Every keyframe that a neighbouring keyframe of its segment reaches, as the +-K rule reaches a
    frame, with the cross-validation's radius (:func:`~warp_refine_ros.propagation.holdout.held_out_radius`
    for bag_label's ``radius``)."""
    reach = held_out_radius(radius)
    found = []
    for stream in streams:
        for start, end in stream.index.segments():
            keys = sorted(i for i in stream.keyframes if start <= i < end)
            for number, position in enumerate(keys):
                neighbours = keys[max(number - 1, 0) : number] + keys[number + 1 : number + 2]
                reached = KeyframePropagation.assignment(position, neighbours, reach)
                if reached is not None:
                    ends = [
                        position,
                        *(r.keyframe for r in (reached.nearest, reached.other) if r is not None),
                    ]
                    found.append(HeldOutKeyframe(stream, min(ends), position, max(ends)))
    return found


def median_distance(held_out: Iterable[HeldOutKeyframe]) -> float | None:
    """The typical number of frames a held-out keyframe's labels travel, for reports."""
    distances = [d for keyframe in held_out for d in keyframe.distances]
    return statistics.median(distances) if distances else None
