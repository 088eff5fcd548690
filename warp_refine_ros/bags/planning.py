"""bag_label's checks and plans, before anything is written: arguments, paths, and every bag's streams.

Planning reads topics, header stamps and keyframes (no pixels but a segment's first image), so bad
input is refused while --out is still as it was. A bag that cannot be read is a failure of that bag;
a bad keyframe or a bad argument stops the run.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from warp_refine_ros.bags.keyframes import KeyframeSet, camera_name, keyframes_from_directory
from warp_refine_ros.bags.output import NAMES
from warp_refine_ros.bags.reader import BagReader, bag_name, recording
from warp_refine_ros.bags.request import LabelJob
from warp_refine_ros.bags.stream_plan import StreamPlan, plan_stream
from warp_refine_ros.engines.base import MotionEngine
from warp_refine_ros.errors import BagError, DatasetError, UsageError
from warp_refine_ros.labels import LabelSpec


@dataclass
class BagPlan:
    """One bag's streams, or why it cannot be labeled."""

    bag: Path
    streams: list[StreamPlan]


def check_inputs(job: LabelJob) -> None:
    """Fail early, before reading or writing, on arguments that cannot work."""
    if not job.bags:
        raise BagError("no bag given")
    for bag in job.bags:
        if not bag.exists():
            raise BagError(f"bag {bag} does not exist")
    cameras = Counter(camera_name(topic) for topic in job.image_topics)
    if repeated := [topic for topic in job.image_topics if cameras[camera_name(topic)] > 1]:
        raise BagError(
            f"the --image-topic values {repeated} are one camera ({camera_name(repeated[0])}; a /compressed "
            "topic is its camera's transport): give each camera once"
        )
    if (job.labels_dir is None) == (not job.label_topics):
        raise DatasetError("give keyframe labels either as --labels DIR or as --label-topic TOPIC")
    if job.label_topics and len(job.label_topics) != len(job.image_topics):
        raise DatasetError(
            f"{len(job.label_topics)} --label-topic for {len(job.image_topics)} --image-topic: give one "
            "label topic per image topic, in the same order"
        )
    if job.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {job.workers}")
    if not (math.isfinite(job.stamp_tolerance_ms) and job.stamp_tolerance_ms >= 0):
        raise UsageError(f"--stamp-tolerance must be 0 or more milliseconds, got {job.stamp_tolerance_ms}")
    if job.split is not None and not 0 < job.split < 1:
        raise UsageError(f"--split takes the validation fraction in (0, 1), got {job.split}")
    check_paths(job)


def bag_recordings(bags: list[Path]) -> dict[str, list[str]]:
    """Each bag's recording (see :func:`reader.recording`) by name; a BagError when two bags given are the
    same recording, such as ``d/`` and ``d/drive.db3`` (its frames would be labeled twice), or when two
    are named alike (datasets know bags by name)."""
    found: dict[str, list[str]] = {}
    owner: dict[str, int] = {}
    for number, bag in enumerate(bags):
        parts = recording(bag)
        for part in parts:
            if (first := owner.setdefault(part, number)) != number:
                raise BagError(
                    f"the bags {bags[first]} and {bag} are the same recording (they hold the same storage "
                    "file bytes); give it once"
                )
        if bag_name(bag) in found:
            raise BagError(f"several bags are named {bag_name(bag)}: datasets know bags by name, rename one")
        found[bag_name(bag)] = parts
    return found


def check_paths(job: LabelJob) -> None:
    """Outputs never overlap an input or each other: nothing the user gave may be overwritten."""
    inputs = [("bag", bag) for bag in job.bags] + ([("--labels", job.labels_dir)] if job.labels_dir else [])
    outputs = [("--out", job.out)] + ([("--out-bag", job.out_bag)] if job.out_bag else [])
    for flag, output in outputs:
        for role, given in inputs:
            if overlap(output, given):
                raise DatasetError(f"{flag} {output} overlaps the input {role} {given}; write somewhere else")
    if job.out_bag is not None and overlap(job.out_bag, job.out):
        inside = _inside(job.out_bag, job.out) and not _inside(job.out, job.out_bag)
        inner = (
            Path(os.path.realpath(job.out_bag)).relative_to(os.path.realpath(job.out)).parts if inside else ()
        )
        if not inner or inner[0] in NAMES:
            raise DatasetError(
                f"--out-bag {job.out_bag} overlaps the dataset's own files in --out {job.out}; give the "
                "review bag its own path (e.g. OUT/review)"
            )


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (links resolved)."""
    path, folder = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return path == folder or folder in path.parents


def overlap(a: Path, b: Path) -> bool:
    """Whether one of two paths lies inside the other (or they are the same), links resolved."""
    return _inside(a, b) or _inside(b, a)


def _keyframes_from_topics(reader: BagReader, job: LabelJob) -> dict[str, KeyframeSet]:
    """Read each label topic once into compact keyframe sets (PNG bytes in memory)."""
    found = {}
    for image_topic, label_topic in zip(job.image_topics, job.label_topics, strict=True):
        keyframes = KeyframeSet(camera_name(image_topic), f"{reader.path}:{label_topic}")
        for stamp, labels in reader.labels(label_topic, job.clock):
            keyframes.add_labels(stamp, labels)
        found[keyframes.camera] = keyframes
    return found


def plan_bags(
    job: LabelJob, spec: LabelSpec, motion: MotionEngine | None
) -> tuple[list[BagPlan], dict[str, str]]:
    """Plan every bag for a run with this motion engine (None: the method needs none); a bag that
    cannot be read is a failure, a bad keyframe stops the run."""
    cameras = [camera_name(topic) for topic in job.image_topics]
    shared = keyframes_from_directory(job.labels_dir, cameras, spec) if job.labels_dir else None
    plans, failures = [], {}
    tolerance = int(job.stamp_tolerance_ms * 1e6)
    for bag in job.bags:
        try:
            with BagReader(bag) as reader:
                keyframes = shared or _keyframes_from_topics(reader, job)
                streams = [
                    plan_stream(
                        reader,
                        bag_name(bag),
                        topic,
                        keyframes[camera_name(topic)],
                        spec,
                        radius=job.config.radius,
                        tolerance_ns=tolerance,
                        clock=job.clock,
                        motion=motion,
                    )
                    for topic in job.image_topics
                ]
            plans.append(BagPlan(bag, streams))
        except BagError as err:
            failures[str(bag)] = str(err)
    return plans, failures


def unused_keyframes(plans: list[BagPlan]) -> list[str]:
    """Keyframes that lie outside the images of every bag given (another bag's, or named after another
    clock), one line per keyframe folder or topic; those inside a stream are that stream's warnings."""
    used: dict[int, tuple[KeyframeSet, set[int]]] = {}
    for bag_plan in plans:
        for stream in bag_plan.streams:
            _, stamps = used.setdefault(id(stream.keyframes), (stream.keyframes, set()))
            stamps.update(stream.match.by_index.values(), stream.match.missed, stream.index.out_of_order)
    lines = []
    for keyframes, stamps in used.values():
        if unused := [stamp for stamp in keyframes.stamps if stamp not in stamps]:
            names = ", ".join(keyframes.name(stamp) for stamp in unused[:3]) + (
                ", ..." if len(unused) > 3 else ""
            )
            lines.append(
                f"{len(unused)} keyframes of {keyframes.origin} lie outside the images of every bag given "
                f"and label nothing ({names}): keyframes of other bags, or named after another --stamp?"
            )
    return lines
