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
        wanted = {self.index.stamps[i]: i for i in range(first, last + 1)}
        frames: dict[int, Frame] = {}
        with BagReader(self.bag) as reader:
            start, stop = self.index.log_times[first], self.index.log_times[last] + 1
            for message in reader.images([self.topic], start_ns=start, stop_ns=stop):
                position = wanted.get(message.stamp_ns)
                if position is not None and position not in frames:
                    frames[position] = Frame(message.decode(), message.stamp_ns)
        return [frames[i] for i in sorted(frames)]


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


def held_out_windows(streams: Iterable[LabeledStream], max_distance: int | None = None) -> list[Window]:
    """Every keyframe with a neighbouring keyframe in its segment (within ``max_distance`` frames)."""
    windows = []
    for stream in streams:
        for start, end in stream.index.segments():
            keys = sorted(i for i in stream.keyframes if start <= i < end)
            for number, position in enumerate(keys):
                before = keys[number - 1] if number > 0 else position
                after = keys[number + 1] if number + 1 < len(keys) else position
                if max_distance is not None:
                    before = before if position - before <= max_distance else position
                    after = after if after - position <= max_distance else position
                if before != position or after != position:
                    windows.append(Window(stream, before, position, after))
    return windows


def median_distance(windows: Iterable[Window]) -> float | None:
    """The typical number of frames a held-out keyframe's labels travel, for reports."""
    distances = [d for window in windows for d in window.distances]
    return statistics.median(distances) if distances else None
