"""One pass over one bag: every requested camera's frames through its own keyframe window.

This is the driver shared by the single-process run, the worker processes and the Ray tasks: it reads,
decodes, matches keyframes, propagates with :class:`WindowLabeler` and hands finished frames to a sink.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from warp_refine_ros.bags.dataset import FrameFiles, ManifestRecord
from warp_refine_ros.bags.keyframes import KeyframeSet, StampMatcher, camera_name
from warp_refine_ros.bags.reader import BagReader, bag_name
from warp_refine_ros.errors import BagError
from warp_refine_ros.propagation import Frame, LabeledFrame, Propagator, WindowLabeler
from warp_refine_ros.timing import StageTimes


@dataclass
class StreamReport:
    """What happened to one camera of one bag."""

    bag: str
    topic: str
    frames_read: int = 0
    frames_written: int = 0
    frames_skipped: int = 0  # already in the manifest of a previous run
    frames_out_of_order: int = 0  # header stamp not after the previous one: dropped
    keyframes_matched: int = 0
    keyframes_unmatched: list[int] = field(default_factory=list)
    offsets: Counter = field(default_factory=Counter)
    first_stamp: int | None = None
    last_stamp: int | None = None


@dataclass
class _Stream:
    topic: str
    camera: str
    keyframes: KeyframeSet
    matcher: StampMatcher
    labeler: WindowLabeler
    report: StreamReport
    resume_after: int | None  # newest stamp already written, if resuming
    waiting_for: int | None  # keyframe stamp to restart propagation at, if resuming
    skipping: bool


def restart_keyframe(keyframe_stamps: Sequence[int], resume_after: int | None) -> int | None:
    """The newest keyframe at or before the last written frame: propagation restarts there on resume.

    Frames are written in stamp order, so everything up to ``resume_after`` is done; every later frame
    depends only on keyframes from this one on, so restarting here reproduces an uninterrupted run.
    """
    if resume_after is None:
        return None
    position = bisect.bisect_right(keyframe_stamps, resume_after)
    return keyframe_stamps[position - 1] if position else None


def label_bag(
    bag: Path,
    topics: Sequence[str],
    keyframes: dict[str, KeyframeSet],
    propagator: Propagator,
    files: FrameFiles,
    sink: Callable[[ManifestRecord], None],
    *,
    radius: int,
    tolerance_ns: int,
    resume: dict[tuple[str, str], int],
    times: StageTimes,
    progress: bool = True,
) -> list[StreamReport]:
    """Label every frame within +-radius of a keyframe on ``topics`` of one bag; one report per camera."""
    name = bag_name(bag)
    with BagReader(bag) as reader:
        streams = {}
        for topic in topics:
            camera = camera_name(topic)
            stamps = keyframes[camera].stamps
            resume_after = resume.get((name, topic))
            waiting_for = restart_keyframe(stamps, resume_after)
            streams[topic] = _Stream(
                topic=topic,
                camera=camera,
                keyframes=keyframes[camera],
                matcher=StampMatcher(stamps, tolerance_ns),
                labeler=WindowLabeler(propagator, radius),
                report=StreamReport(name, topic),
                resume_after=resume_after,
                waiting_for=waiting_for,
                skipping=resume_after is not None and waiting_for is not None,
            )
        total = sum(reader.topics[topic].count for topic in topics if topic in reader.topics)
        bar = tqdm(
            total=total,
            desc=f"{name} [{', '.join(s.camera for s in streams.values())}]",
            unit="frame",
            disable=not progress,
            dynamic_ncols=True,
            leave=False,
        )
        with bar:
            for message in reader.images(topics):
                stream = streams[message.topic]
                _push(stream, message.stamp_ns, message.decode, propagator, files, sink, times)
                bar.update()
            for stream in streams.values():
                for labeled in stream.labeler.finish():
                    _emit(stream, labeled, files, sink, times)
    for stream in streams.values():
        report = stream.report
        if report.first_stamp is not None:
            report.keyframes_unmatched = stream.matcher.unmatched(report.first_stamp, report.last_stamp)
        if report.frames_read and not stream.matcher.matched and stream.keyframes.stamps:
            raise BagError(
                f"{bag}: no keyframe label of {stream.keyframes.origin} matches an image stamp on "
                f"{stream.topic} (tolerance {tolerance_ns / 1e6:g} ms); nearest stamps found:\n"
                f"{stream.matcher.describe_misses()}\n"
                "Label files must be named by the image's header stamp in ns; raise --stamp-tolerance "
                "if the recorder drifts."
            )
    return [stream.report for stream in streams.values()]


def _push(
    stream: _Stream,
    stamp_ns: int,
    decode: Callable[[], np.ndarray],
    propagator: Propagator,
    files: FrameFiles,
    sink: Callable[[ManifestRecord], None],
    times: StageTimes,
) -> None:
    report = stream.report
    report.frames_read += 1
    if report.last_stamp is not None and stamp_ns <= report.last_stamp:
        report.frames_out_of_order += 1  # a repeated or backwards stamp would overwrite or reorder output
        return
    if report.first_stamp is None:
        report.first_stamp = stamp_ns
    report.last_stamp = stamp_ns
    key = stream.matcher.match(stamp_ns)
    if key is not None:
        report.keyframes_matched += 1
    if stream.skipping:
        if key != stream.waiting_for:
            return
        stream.skipping = False
    with times.stage("decode"):
        image = decode()
    labels = None
    if key is not None:
        labels = propagator.spec.validate(
            stream.keyframes.load(key), shape=image.shape, name=stream.keyframes.name(key)
        )
    for labeled in stream.labeler.push(Frame(image, stamp_ns), labels):
        _emit(stream, labeled, files, sink, times)


def _emit(
    stream: _Stream,
    labeled: LabeledFrame,
    files: FrameFiles,
    sink: Callable[[ManifestRecord], None],
    times: StageTimes,
) -> None:
    stamp = labeled.frame.stamp_ns
    if stream.resume_after is not None and stamp <= stream.resume_after:
        stream.report.frames_skipped += 1
        return
    with times.stage("write"):
        record = files.write(
            stream.report.bag, stream.topic, stream.camera, labeled.frame.image, stamp, labeled.labeling
        )
        sink(record)
    stream.report.frames_written += 1
    stream.report.offsets[labeled.labeling.offset] += 1
