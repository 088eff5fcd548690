"""Split a camera stream into independent keyframe windows: the unit of resuming and of parallel work.

A keyframe cuts propagation cleanly: frames after it depend on it and later keyframes only, frames
before it on it and earlier ones. So the frames from one keyframe to the next (plus the K-frame head
before the first and tail after the last of each run of labeled frames) can be labeled by separate
workers and give exactly what one uninterrupted pass gives.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from warp_refine_ros.propagation import plan


@dataclass(frozen=True)
class StreamIndex:
    """Header stamps and recording times of one image topic of one bag, in recording order."""

    bag: str
    topic: str
    stamps: list[int]  # header stamps, strictly increasing
    log_times: list[int]  # bag timestamps of the same messages
    dropped: int = 0  # messages whose header stamp did not increase (skipped)


def index_stream(bag: str, topic: str, entries: Sequence[tuple[int, int]]) -> StreamIndex:
    """Build the index from (log_time, header stamp) pairs, dropping repeated or backwards stamps."""
    stamps, log_times, dropped = [], [], 0
    for log_time, stamp in entries:
        if stamps and stamp <= stamps[-1]:
            dropped += 1
            continue
        stamps.append(stamp)
        log_times.append(log_time)
    return StreamIndex(bag, topic, stamps, log_times, dropped)


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
