"""Plan one camera of one bag: its stamps indexed, keyframes matched and checked, its keyframe windows.

Planning reads each image topic's header stamps once (no pixels), matches keyframe labels to images
(:mod:`stream_index`) and splits each constant-size segment of the stream into the windows
:class:`~warp_refine_ros.propagation.KeyframePropagation` labels on their own; labeling them is
:mod:`window_labeling`'s. What a rerun with changed keyframes relabels follows from the same windows.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

import numpy as np

from warp_refine_ros.bags.images import too_small_for
from warp_refine_ros.bags.keyframes import KeyframeSet
from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.bags.stream_index import KeyframeMatch, StreamIndex, index_stream, match_keyframes
from warp_refine_ros.engines.base import MotionEngine
from warp_refine_ros.errors import BagError, DatasetError, FrameError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import KeyframePropagation, KeyframeWindow


@dataclass
class StreamPlan:
    """One camera of one bag: its index, keyframes, and the windows to label."""

    index: StreamIndex
    keyframes: KeyframeSet
    match: KeyframeMatch
    windows: list[KeyframeWindow]  # frame indices into the whole stream
    segments: list[tuple[int, int, tuple[int, int]]]  # [start, end) runs of one size: (height, width)
    radius: int
    keyframe_hashes: dict[int, str]  # image stamp -> hash of the keyframe label it carries
    folder: str = ""  # where its frames' files go under images/, labels/, ... (the dataset assigns it)

    @property
    def planned(self) -> int:
        return sum(len(w.written) for w in self.windows)

    def offsets(self) -> Iterator[int]:
        """The offset each planned frame is written with (from its nearest keyframe), segment by segment."""
        for start, end, _ in self.segments:
            keyframes = [i - start for i in self.match.by_index if start <= i < end]
            for assignment in KeyframePropagation.plan(end - start, keyframes, self.radius):
                yield assignment.nearest.offset

    def shape_at(self, position: int) -> tuple[int, int]:
        """The image size of the segment holding frame ``position``."""
        segment = bisect.bisect_right([start for start, _, _ in self.segments], position) - 1
        return self.segments[segment][2]

    def changes_since(self, before: dict[int, str]) -> tuple[set[int], set[int]]:
        """Stamps whose labels change, and stamps no longer labeled, when the stream's keyframes were
        ``before`` (image stamp -> label hash, as :attr:`keyframe_hashes`): a frame keeps its labels
        exactly when the inputs of its window are the same."""
        old, new = _window_inputs(self, before), _window_inputs(self, self.keyframe_hashes)
        changed = {stamp for stamp, inputs in new.items() if stamp in old and old[stamp] != inputs}
        return changed, set(old) - set(new)


def stream_windows(index: StreamIndex, keyframes: Collection[int], radius: int) -> list[KeyframeWindow]:
    """The windows of every constant-size segment of a stream with keyframes at these frame indices,
    with indices into the whole stream."""
    windows = []
    for start, end in index.segments():
        inside = [i - start for i in keyframes if start <= i < end]
        windows += [w.shifted(start) for w in KeyframePropagation.windows(end - start, inside, radius)]
    return windows


def _window_inputs(plan: StreamPlan, hashes: dict[int, str]) -> dict[int, tuple]:
    """Per frame stamp, the inputs of the window that labels it with these keyframes."""
    stamps = plan.index.stamps
    position = {stamp: i for i, stamp in enumerate(stamps)}
    labels = {position[stamp]: value for stamp, value in hashes.items() if stamp in position}
    found = {}
    for window in stream_windows(plan.index, labels, plan.radius):
        inputs = window.inputs(labels)
        found.update({stamps[i]: inputs for i in window.written})
    return found


@dataclass
class StreamReport:
    """What happened to one camera of one bag."""

    bag: str
    topic: str
    frames_in_bag: int = 0
    frames_out_of_order: int = 0  # stamp repeated, far back or far ahead: skipped
    frames_reordered: int = 0  # recorded after later-stamped frames: put back in stamp order
    frames_undecodable: dict[int, str] = field(default_factory=dict)  # stamp -> why it was skipped
    keyframes_matched: int = 0
    keyframes_unmatched: dict[int, int | None] = field(default_factory=dict)  # stamp -> nearest image
    frames_planned: int = 0
    frames_written: int = 0
    frames_already_done: int = 0  # written by an earlier run of the same command
    offsets: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)  # what planning found that a user should know

    def note_undecodable(self, plan: StreamPlan, frames: dict[int, str]) -> None:
        """Frames left out while labeling because they cannot be decoded, and keyframes lost with them."""
        self.frames_undecodable.update(frames)
        keyframe_images = {plan.index.stamps[p]: key for p, key in plan.match.by_index.items()}
        self.warnings += [
            f"keyframe {plan.keyframes.name(keyframe_images[stamp])} labels nothing: its image cannot be "
            f"decoded ({frames[stamp]})"
            for stamp in sorted(frames.keys() & keyframe_images.keys())
        ]


def plan_stream(
    reader: BagReader,
    bag: str,
    topic: str,
    keyframes: KeyframeSet,
    spec: LabelSpec,
    *,
    radius: int,
    tolerance_ns: int,
    motion: MotionEngine | None,
    clock: str = "header",
) -> StreamPlan:
    """Index one image topic, match and validate its keyframes, and split it into windows; images too
    small for the ``motion`` engine that will run (None: none) are refused."""
    index = index_stream(bag, topic, reader.image_index(topic, clock), clock)
    _check_tolerance(reader, index, tolerance_ns)
    match = match_keyframes(index.stamps, keyframes.stamps, tolerance_ns)
    if not match.by_index:
        nearest = "\n".join(
            f"  keyframe {key}: closest image stamp {near} ({(near - key) / 1e6:+.3f} ms)"
            for key, near in list(match.missed.items())[:5]
            if near is not None
        )
        span = f"{index.stamps[0]}..{index.stamps[-1]}" if index.stamps else "(no images)"
        raise BagError(
            f"{reader.path}: no keyframe label of {keyframes.origin} matches an image of {topic} "
            f"(image stamps {span}, tolerance {tolerance_ns / 1e6:g} ms)"
            + (f"; nearest stamps found:\n{nearest}" if nearest else "; no keyframe stamp lies in that span")
            + (
                f"\n{problem}"
                if (problem := stamp_problem(index))
                else "\nLabel files are named by the image's stamp in ns; raise --stamp-tolerance if "
                "the recorder drifts."
            )
        )
    segments = [
        (start, end, _segment_shape(reader, index, start, end, motion)) for start, end in index.segments()
    ]
    plan = StreamPlan(index, keyframes, match, [], segments, radius, {})
    for position, key in match.by_index.items():
        labels = keyframes.load(key)
        spec.validate(labels, shape=plan.shape_at(position), name=keyframes.name(key))
        plan.keyframe_hashes[index.stamps[position]] = label_hash(labels)
    plan.windows = stream_windows(index, match.by_index, radius)
    return plan


def label_hash(labels: np.ndarray) -> str:
    """A short hash of a label's ids and size: what tells a changed keyframe from the same one re-saved."""
    return hashlib.sha1(np.ascontiguousarray(labels).tobytes() + str(labels.shape).encode()).hexdigest()[:16]


def _check_tolerance(reader: BagReader, index: StreamIndex, tolerance_ns: int) -> None:
    """A tolerance of half a frame period or more could give a keyframe label to the next image."""
    gaps = np.diff(index.stamps)
    if tolerance_ns and gaps.size and 2 * tolerance_ns >= (period := float(np.median(gaps))):
        raise DatasetError(
            f"--stamp-tolerance {tolerance_ns / 1e6:g} ms is half the frame period of {index.topic} in "
            f"{reader.path} ({period / 1e6:.3g} ms) or more: a label could match a neighbouring image. "
            f"Use less than {period / 2e6:.3g} ms."
        )


def _segment_shape(
    reader: BagReader, index: StreamIndex, start: int, end: int, motion: MotionEngine | None
) -> tuple[int, int]:
    """The decoded size of a segment's first image that decodes (the header's size may be absent or
    wrong); a BagError when none does."""
    first_problem = None
    for _, message in reader.indexed_images(index, start, end - 1):
        try:
            shape = message.decode().shape[:2]
        except FrameError as err:
            first_problem = first_problem or err
            continue
        if problem := too_small_for(motion, *shape):
            raise BagError(f"{reader.path}: {index.topic} from stamp {message.stamp_ns}: {problem}")
        return shape
    raise BagError(f"{reader.path}: no image of {index.topic} can be decoded ({first_problem})")


def stamp_problem(index: StreamIndex) -> str | None:
    """What is wrong with a stream's stamps when most images were skipped for them, with the fix."""
    total = len(index.stamps) + index.dropped
    if index.clock != "header" or index.dropped * 2 < total:
        return None
    said = (
        f"all {total} header stamps are 0"
        if not any(index.stamps) and not any(index.out_of_order)
        else f"the header stamps do not increase ({index.dropped} of {total} repeat or go back)"
    )
    return (
        f"{said}: the camera driver does not stamp its images; rerun with --stamp log to name frames "
        "by the time the recorder logged them (keyframe labels then carry that time)"
    )


def report_for(plan: StreamPlan) -> StreamReport:
    """A report filled with what planning found."""
    index = plan.index
    return StreamReport(
        bag=index.bag,
        topic=index.topic,
        frames_in_bag=len(index.stamps) + index.dropped,
        frames_out_of_order=index.dropped,
        frames_reordered=index.reordered,
        keyframes_matched=len(plan.match.by_index),
        keyframes_unmatched=dict(plan.match.missed),
        frames_planned=plan.planned,
        warnings=planning_warnings(plan),
    )


def planning_warnings(plan: StreamPlan) -> list[str]:
    """Images skipped for their stamps, and every keyframe that labels nothing, by name and why."""
    index = plan.index
    found = []
    if index.dropped:
        found.append(
            stamp_problem(index)
            or f"{index.dropped} images out of {index.clock} stamp order (repeated, backwards or far ahead) "
            "were skipped"
        )
    skipped = set(index.out_of_order) - set(plan.match.by_index.values())  # a repeated stamp is kept once
    for key in sorted({*plan.match.missed, *(stamp for stamp in plan.keyframes.stamps if stamp in skipped)}):
        near = plan.match.missed.get(key)
        found.append(
            f"keyframe {plan.keyframes.name(key)} labels nothing: "
            + (
                "its image was skipped for its stamp (see above)"
                if key in skipped
                else f"no image has its stamp (nearest {near}, {(near - key) / 1e6:+.3f} ms; raise "
                "--stamp-tolerance if the recorder drifts)"
                if near is not None
                else "no image has its stamp"
            )
        )
    return found
