"""Split a camera stream into independent keyframe windows: the unit of resuming and of parallel work.

A keyframe cuts propagation cleanly: frames after it depend on it and later keyframes only, frames
before it on it and earlier ones. So the frames from one keyframe to the next (plus the K-frame head
before the first and tail after the last of each run of labeled frames) can be labeled by separate
workers and give exactly what one uninterrupted pass gives.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from warp_refine_ros.propagation import plan

Size = tuple[int, int]  # (height, width) of an image


class IndexEntry(NamedTuple):
    """One image message as the index sees it: when it was recorded, its stamp, its size if known."""

    log_time: int
    stamp: int
    size: Size | None = None


REORDER_NS = 500_000_000
"""How much earlier than images recorded before it an image may be stamped and still be put in its place.
Recorders that write from several threads or queues deliver an image a few frames late (adjacent frames
swapped at 10-30 Hz are 33-100 ms apart); a stamp further back is a clock glitch, and costs only its image."""


@dataclass(frozen=True)
class StreamIndex:
    """The stamps and recording times of one image topic of one bag, in stamp order."""

    bag: str
    topic: str
    stamps: list[int]  # strictly increasing: header stamps, or recording times with clock "log"
    log_times: list[int]  # bag timestamps of the same messages
    out_of_order: tuple[int, ...] = ()  # stamps of messages skipped: repeated, far back or far ahead
    sizes: list[Size | None] = field(default_factory=list)  # per image if known from its header
    reordered: int = 0  # messages recorded after later-stamped ones, put back in their place
    clock: str = "header"  # which stamp the index orders by: "header" or "log" (the recording time)

    @property
    def dropped(self) -> int:
        """Messages the index left out for their stamps."""
        return len(self.out_of_order)

    def segments(self) -> list[tuple[int, int]]:
        """[start, end) runs of images of one size: propagation never crosses a change of resolution."""
        cuts, current = [0], None
        for position, size in enumerate(self.sizes):
            if size is not None and current is not None and size != current:
                cuts.append(position)
            current = size or current
        return list(itertools.pairwise([*cuts, len(self.stamps)])) if self.stamps else []


def index_stream(bag: str, topic: str, entries: Sequence[tuple], clock: str = "header") -> StreamIndex:
    """The index of (log_time, stamp[, size]) entries in recording order: images recorded up to
    REORDER_NS of stamp time late are put in stamp order, then the longest run of strictly increasing
    stamps is kept (earliest recorded first among equals) and the rest counted.

    A repeated or backwards stamp, or one image stamped far in the future, costs that image only."""
    entries = [IndexEntry(*entry) for entry in entries]
    order, moved = _in_stamp_order(entries)
    kept = [order[i] for i in _longest_increasing([entries[p].stamp for p in order])]
    chosen = [entries[p] for p in kept]
    skipped = sorted(set(range(len(entries))) - set(kept))
    return StreamIndex(
        bag,
        topic,
        [e.stamp for e in chosen],
        [e.log_time for e in chosen],
        tuple(entries[p].stamp for p in skipped),
        [e.size for e in chosen],
        reordered=len(moved.intersection(kept)),
        clock=clock,
    )


def _in_stamp_order(entries: Sequence[IndexEntry]) -> tuple[list[int], set[int]]:
    """Positions in recording order, each late image moved back past the images stamped at most
    REORDER_NS after it; and the positions that moved."""
    order: list[int] = []
    moved: set[int] = set()
    for position, entry in enumerate(entries):
        slot = len(order)
        while slot and entry.stamp < entries[order[slot - 1]].stamp <= entry.stamp + REORDER_NS:
            slot -= 1
        if slot < len(order):
            moved.add(position)
        order.insert(slot, position)
    return order, moved


def _longest_increasing(values: Sequence[int]) -> list[int]:
    """Positions of the longest strictly increasing subsequence, lexicographically first."""
    reach = [0] * len(values)  # length of the longest increasing run starting at each position
    tails: list[int] = []  # tails[n]: the largest start value of a run of length n + 1 seen so far, negated
    for position in range(len(values) - 1, -1, -1):
        slot = bisect.bisect_left(tails, -values[position])
        tails[slot : slot + 1] = [-values[position]]
        reach[position] = slot + 1
    kept: list[int] = []
    need = max(reach, default=0)
    for position, value in enumerate(values):
        if need and reach[position] == need and (not kept or value > values[kept[-1]]):
            kept.append(position)
            need -= 1
    return kept


@dataclass(frozen=True)
class KeyframeMatch:
    """Which image carries each keyframe label, and the keyframes no image matched."""

    by_index: dict[int, int]  # frame index -> keyframe stamp
    missed: dict[int, int | None]  # keyframe stamp inside the stream's span -> nearest image stamp


def match_keyframes(
    stamps: Sequence[int], keyframe_stamps: Sequence[int], tolerance_ns: int
) -> KeyframeMatch:
    """Match each keyframe to the nearest image stamp within the tolerance; an image takes one keyframe."""
    by_index: dict[int, int] = {}
    missed: dict[int, int | None] = {}
    if not stamps:
        return KeyframeMatch(by_index, missed)
    for key in sorted(keyframe_stamps):
        if key < stamps[0] - tolerance_ns or key > stamps[-1] + tolerance_ns:
            continue  # another bag's keyframe
        position = bisect.bisect_left(stamps, key)
        candidates = [i for i in (position - 1, position) if 0 <= i < len(stamps)]
        nearest = min(candidates, key=lambda i: abs(stamps[i] - key))
        previous = by_index.get(nearest)
        if abs(stamps[nearest] - key) > tolerance_ns or (
            previous is not None and abs(stamps[nearest] - previous) <= abs(stamps[nearest] - key)
        ):
            missed[key] = stamps[nearest]
            continue
        if previous is not None:
            missed[previous] = stamps[nearest]
        by_index[nearest] = key
    return KeyframeMatch(by_index, missed)


@dataclass(frozen=True)
class Window:
    """Frames ``first..last`` pushed through one WindowLabeler; frames ``write_from..last`` are its output."""

    first: int
    last: int
    write_from: int
    keyframes: dict[int, int]  # frame index -> keyframe stamp, for keyframes inside the window
    planned: frozenset[int]  # frame indices the plan labels (all of write_from..last are planned)

    def shifted(self, by: int) -> Window:
        """The same window with every frame index moved by ``by`` (a segment's start in its stream)."""
        return Window(
            self.first + by,
            self.last + by,
            self.write_from + by,
            {index + by: stamp for index, stamp in self.keyframes.items()},
            frozenset(index + by for index in self.planned),
        )


def plan_windows(num_frames: int, keyframes: dict[int, int], radius: int) -> list[Window]:
    """Windows covering every planned frame exactly once in their write ranges, in stream order."""
    planned = [a.index for a in plan(num_frames, sorted(keyframes), radius)]
    windows = []
    run_start = 0
    for position, index in enumerate(planned):
        run_ends = position + 1 == len(planned) or planned[position + 1] != index + 1
        if position == 0 or planned[position - 1] != index - 1:
            run_start = index
        if index in keyframes or run_ends:
            windows.append(_window(run_start, index, windows, keyframes))
    return windows


def _window(run_start: int, last: int, windows: list[Window], keyframes: dict[int, int]) -> Window:
    previous_end = windows[-1].last if windows else -1
    first = previous_end if previous_end >= run_start else run_start  # start at the previous keyframe
    write_from = first + 1 if previous_end >= run_start else first
    inside = {i: keyframes[i] for i in range(first, last + 1) if i in keyframes}
    return Window(first, last, write_from, inside, frozenset(range(write_from, last + 1)))


def plan_stream_windows(index: StreamIndex, keyframes: dict[int, int], radius: int) -> list[Window]:
    """The windows of every constant-size segment of a stream, with indices into the whole stream."""
    windows = []
    for start, end in index.segments():
        inside = {i - start: stamp for i, stamp in keyframes.items() if start <= i < end}
        windows += [window.shifted(start) for window in plan_windows(end - start, inside, radius)]
    return windows


def frames_to_relabel(
    index: StreamIndex, before: dict[int, str], after: dict[int, str], radius: int
) -> tuple[set[int], set[int]]:
    """Stamps whose labels change, and stamps no longer labeled, when a stream's keyframes change.

    ``before`` and ``after`` map a keyframe's image stamp to a hash of its label. A frame's labels
    are a function of its window alone (its first and last frame and the keyframes inside), so a frame
    keeps them exactly when its window is the same before and after.
    """
    old, new = _window_of_each_frame(index, before, radius), _window_of_each_frame(index, after, radius)
    changed = {stamp for stamp, window in new.items() if stamp in old and old[stamp] != window}
    return changed, set(old) - set(new)


def _window_of_each_frame(index: StreamIndex, hashes: dict[int, str], radius: int) -> dict[int, tuple]:
    position = {stamp: i for i, stamp in enumerate(index.stamps)}
    keyframes = {position[stamp]: stamp for stamp in hashes if stamp in position}
    found = {}
    for window in plan_stream_windows(index, keyframes, radius):
        identity = (
            window.first,
            window.last,
            tuple((i, hashes[window.keyframes[i]]) for i in sorted(window.keyframes)),
        )
        found.update({index.stamps[i]: identity for i in window.planned})
    return found
