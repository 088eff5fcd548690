"""A bag_label run: check the inputs, load engines once, label each bag, record what happened.

Bad input is found before anything is written where it can be (topics, keyframe files, engines);
a bag that turns out corrupt mid-way is reported and the run goes on with the others.
"""

from __future__ import annotations

import platform
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from warp_refine_ros import __version__
from warp_refine_ros.bags.dataset import FrameFiles, Manifest, write_json
from warp_refine_ros.bags.keyframes import KeyframeSet, camera_name, keyframes_from_directory
from warp_refine_ros.bags.labeling import StreamReport, label_bag
from warp_refine_ros.bags.reader import BagReader, bag_name
from warp_refine_ros.engines import EngineSet
from warp_refine_ros.errors import BagError, DatasetError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import DEFAULT_TAU, Method, Propagator
from warp_refine_ros.timing import StageTimes, TimedEngine


@dataclass
class LabelJob:
    """Everything a bag_label run needs; the CLI fills it from arguments."""

    bags: list[Path]
    image_topics: list[str]
    out: Path
    engines: EngineSet
    labels_dir: Path | None = None
    label_topics: list[str] = field(default_factory=list)
    method: Method = Method.WARP_REFINE
    radius: int = 10
    tau: float = DEFAULT_TAU
    spec: LabelSpec | None = None
    stamp_tolerance_ms: float = 0.0
    image_format: str = "png"
    color: bool = False
    progress: bool = True
    arguments: dict = field(default_factory=dict)  # as given on the command line, for run.json


@dataclass
class JobResult:
    """Per-stream reports, failed bags and timings of a run."""

    reports: list[StreamReport]
    failures: dict[str, str]
    times: StageTimes
    seconds: float

    @property
    def frames_written(self) -> int:
        return sum(report.frames_written for report in self.reports)


def check_inputs(job: LabelJob) -> None:
    """Fail early, before writing, on arguments that cannot work."""
    if not job.bags:
        raise BagError("no bag given")
    names = Counter(bag_name(bag) for bag in job.bags)
    if repeated := [name for name, count in names.items() if count > 1]:
        raise BagError(f"several bags are named {repeated}; datasets record bags by name, rename them")
    if len(set(job.image_topics)) != len(job.image_topics):
        raise BagError(f"an --image-topic is repeated: {job.image_topics}")
    if (job.labels_dir is None) == (not job.label_topics):
        raise DatasetError("give keyframe labels either as --labels DIR or as --label-topic TOPIC")
    if job.label_topics and len(job.label_topics) != len(job.image_topics):
        raise DatasetError(
            f"{len(job.label_topics)} --label-topic for {len(job.image_topics)} --image-topic: give one "
            "label topic per image topic, in the same order"
        )
    if job.radius < 0:
        raise ValueError(f"--radius must be >= 0, got {job.radius}")
    for bag in job.bags:
        if not bag.exists():
            raise BagError(f"bag {bag} does not exist")


def versions() -> dict[str, str]:
    """Versions of what produced a dataset, for run.json."""
    import cv2
    import onnxruntime
    import rosbags

    found = {
        "warp_refine_ros": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "onnxruntime": onnxruntime.__version__,
        "rosbags": getattr(rosbags, "__version__", "unknown"),
    }
    if "torch" in sys.modules:
        found["torch"] = sys.modules["torch"].__version__
    return found


def _keyframes_from_topics(bag: Path, job: LabelJob, spec: LabelSpec) -> dict[str, KeyframeSet]:
    """Read each label topic once into compact keyframe sets (PNG bytes in memory)."""
    found = {}
    with BagReader(bag) as reader:
        for image_topic, label_topic in zip(job.image_topics, job.label_topics, strict=True):
            keyframes = KeyframeSet(camera_name(image_topic), f"{bag}:{label_topic}")
            for stamp, labels in reader.labels(label_topic):
                spec.validate(labels, name=f"{bag}:{label_topic} @ {stamp}")
                keyframes.add_labels(stamp, labels)
            found[keyframes.camera] = keyframes
    return found


def _validate_directory_keyframes(keyframes: dict[str, KeyframeSet], spec: LabelSpec) -> None:
    """Reject any keyframe PNG with unknown ids before anything is written (sizes are checked per image)."""
    for keyframe_set in keyframes.values():
        for stamp in keyframe_set.stamps:
            spec.validate(keyframe_set.load(stamp), name=keyframe_set.name(stamp))


def prepare_output(job: LabelJob, spec: LabelSpec) -> Manifest:
    """Create or reopen OUT; a rerun must use the same method and class spec."""
    job.out.mkdir(parents=True, exist_ok=True)
    classes = job.out / "classes.yaml"
    if classes.exists():
        if LabelSpec.from_yaml(classes) != spec:
            raise DatasetError(f"{classes} holds another class spec than this run's; use a new --out")
    else:
        spec.to_yaml(classes)
    manifest = Manifest(job.out / "manifest.jsonl")
    if other := manifest.methods() - {str(job.method)}:
        manifest.close()
        raise DatasetError(
            f"{job.out} holds labels made with {', '.join(sorted(other))}; this run uses {job.method}. "
            "Write each method to its own --out."
        )
    return manifest


def run(job: LabelJob) -> JobResult:
    """Label every bag of the job into job.out and write run.json; returns what happened."""
    started = time.perf_counter()
    check_inputs(job)
    spec = job.spec or (job.engines.segmentation.spec if job.engines.segmentation else LabelSpec.default())
    times = StageTimes()
    engines = job.engines
    propagator = Propagator(
        job.method,
        spec,
        motion=TimedEngine(engines.motion, "flow", "motion", times) if engines.motion else None,
        segmentation=TimedEngine(engines.segmentation, "segment", "segmentation", times)
        if engines.segmentation
        else None,
        refiner=TimedEngine(engines.refiner, "refine", "refine", times) if engines.refiner else None,
        tau=job.tau,
    )
    cameras = [camera_name(topic) for topic in job.image_topics]
    shared_keyframes = None
    if job.labels_dir is not None:
        shared_keyframes = keyframes_from_directory(job.labels_dir, cameras)
        _validate_directory_keyframes(shared_keyframes, spec)
    manifest = prepare_output(job, spec)
    files = FrameFiles(job.out, spec, str(job.method), job.image_format, job.color)
    resume = manifest.last_stamps()
    reports: list[StreamReport] = []
    failures: dict[str, str] = {}
    try:
        for bag in job.bags:
            try:
                keyframes = shared_keyframes or _keyframes_from_topics(bag, job, spec)
                reports += label_bag(
                    bag,
                    job.image_topics,
                    keyframes,
                    propagator,
                    files,
                    manifest.append,
                    radius=job.radius,
                    tolerance_ns=int(job.stamp_tolerance_ms * 1e6),
                    resume=resume,
                    times=times,
                    progress=job.progress,
                )
            except BagError as err:
                failures[str(bag)] = str(err)
                print(f"error: {err}", file=sys.stderr)
    finally:
        manifest.close()
    result = JobResult(reports, failures, times, time.perf_counter() - started)
    write_json(job.out / "run.json", run_record(job, engines, result))
    return result


def run_record(job: LabelJob, engines: EngineSet, result: JobResult) -> dict:
    """run.json: arguments, versions, engines, per-stage timings and per-stream outcomes."""
    frames = max(result.frames_written, 1)
    return {
        "arguments": job.arguments,
        "method": str(job.method),
        "radius": job.radius,
        "tau": job.tau,
        "versions": versions(),
        "engines": engines.describe(),
        "timings": {
            "seconds": round(result.seconds, 3),
            "frames_written": result.frames_written,
            "frames_per_second": round(result.frames_written / max(result.seconds, 1e-9), 3),
            "stages": result.times.summary(),
            "ms_per_written_frame": {
                name: round(1000 * seconds / frames, 3) for name, seconds in result.times.seconds.items()
            },
        },
        "streams": [
            asdict(report) | {"offsets": {str(k): v for k, v in sorted(report.offsets.items())}}
            for report in result.reports
        ],
        "failures": result.failures,
    }



