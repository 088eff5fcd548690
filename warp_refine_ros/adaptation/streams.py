"""A camera stream with its keyframes, and the held-out windows keyframe cross-validation labels.

A window is a keyframe with the keyframes next to it in the same stream (and the same image size):
the frames from the one before to the one after. Only keyframe labels are ever read.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from warp_refine_ros.bags.keyframes import KeyframeSet
from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.bags.windows import StreamIndex
from warp_refine_ros.propagation import Frame


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
class Window:
    """A held-out keyframe at ``position`` and its neighbouring keyframes ``first`` and ``last``
    (equal to ``position`` on a side that has none)."""

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


REACH = 4  # a neighbour further than REACH x radius frames does not count: the window would not be
# what bag_label labels, and its frames and flows are held in memory while candidates are estimated


def held_out_windows(streams: Iterable[LabeledStream], radius: int) -> list[Window]:
    """Every keyframe with a neighbouring keyframe in its segment, at most REACH x ``radius`` frames away."""
    max_distance = REACH * max(radius, 1)
    windows = []
    for stream in streams:
        for start, end in stream.index.segments():
            keys = sorted(i for i in stream.keyframes if start <= i < end)
            for number, position in enumerate(keys):
                before = keys[number - 1] if number > 0 else position
                after = keys[number + 1] if number + 1 < len(keys) else position
                before = before if position - before <= max_distance else position
                after = after if after - position <= max_distance else position
                if before != position or after != position:
                    windows.append(Window(stream, before, position, after))
    return windows


def median_distance(windows: Iterable[Window]) -> float | None:
    """The typical number of frames a held-out keyframe's labels travel, for reports."""
    distances = [d for window in windows for d in window.distances]
    return statistics.median(distances) if distances else None
