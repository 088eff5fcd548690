"""A camera stream's images in stamp order, and the keyframe labels matched to them by stamp.

Recorders deliver images late, repeat stamps or jump back; the index puts late images in their place
and keeps the longest run of increasing stamps, so a frame is named by its stamp and the propagation
sees each image once, in order.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from warp_refine_ros.propagation import nearest_stamp

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
        nearest = nearest_stamp(stamps, key)
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
