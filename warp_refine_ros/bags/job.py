"""A bag_label run: plan every bag, check the inputs, label the windows not yet done, record the run.

Planning (topics, stamps, keyframe matching and validation) happens before anything is written, so
bad input leaves no partial dataset. A bag that fails to read is reported and the run goes on.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import platform
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from tqdm import tqdm

from warp_refine_ros import __version__
from warp_refine_ros.bags.dataset import (
    BackgroundWriter,
    FrameFiles,
    ManifestRecord,
    read_manifest,
    write_splits,
)
from warp_refine_ros.bags.keyframes import KeyframeSet, camera_name, keyframes_from_directory
from warp_refine_ros.bags.labeling import StreamPlan, StreamReport, label_window, plan_stream, report_for
from warp_refine_ros.bags.output import (
    NAMES,
    DatasetFolder,
    DatasetSettings,
    StreamChange,
    bag_bytes,
    check_review_bag,
    replace_review_bag,
)
from warp_refine_ros.bags.reader import BagReader, bag_name
from warp_refine_ros.bags.review import write_review_bag
from warp_refine_ros.bags.windows import Window
from warp_refine_ros.engines.loading import EngineSet, EngineSources
from warp_refine_ros.errors import BagError, DatasetError
from warp_refine_ros.fileio import WriteError, write_json
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import LabeledFrame, Method, Propagator, plan
from warp_refine_ros.propagation.config import PropagationConfig
from warp_refine_ros.timing import StageTimes, TimedEngine


@dataclass
class LabelJob:
    """Everything a bag_label run needs; the CLI fills it from arguments."""

    bags: list[Path]
    image_topics: list[str]
    out: Path
    engines: EngineSources
    labels_dir: Path | None = None
    label_topics: list[str] = field(default_factory=list)
    config: PropagationConfig = field(default_factory=PropagationConfig)
    spec: LabelSpec | None = None
    stamp_tolerance_ms: float = 0.0
    image_format: str = "png"
    color: bool = False
    workers: int = 1
    ray_address: str | None = None  # "local" for a Ray started on this machine
    split: float | None = None  # validation fraction: write train/val lists by bag
    out_bag: Path | None = None  # review bag (.mcap) of the whole dataset
    validate: bool = False  # estimate label quality by keyframe cross-validation, into run.json
    progress: bool = True
    arguments: dict = field(default_factory=dict)  # as given on the command line, for run.json


@dataclass
class BagPlan:
    """One bag's streams, or why it cannot be labeled."""

    bag: Path
    streams: list[StreamPlan]


@dataclass
class JobResult:
    """Per-stream reports, failed bags and timings of a run."""

    reports: list[StreamReport]
    failures: dict[str, str]
    times: StageTimes
    seconds: float
    changes: list[StreamChange] = field(default_factory=list)  # streams relabeled for changed keyframes
    started: bool = True  # False when every bag failed before anything was written
    validation: dict | None = None  # the keyframe cross-validation estimate, with --validate

    @property
    def frames_written(self) -> int:
        return sum(report.frames_written for report in self.reports)


# --- checks and planning ------------------------------------------------------------------------


def check_inputs(job: LabelJob) -> None:
    """Fail early, before reading or writing, on arguments that cannot work."""
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
    if job.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {job.workers}")
    if not (math.isfinite(job.stamp_tolerance_ms) and job.stamp_tolerance_ms >= 0):
        raise ValueError(f"--stamp-tolerance must be 0 or more milliseconds, got {job.stamp_tolerance_ms}")
    if job.split is not None and not 0 < job.split < 1:
        raise ValueError(f"--split takes the validation fraction in (0, 1), got {job.split}")
    for bag in job.bags:
        if not bag.exists():
            raise BagError(f"bag {bag} does not exist")
    check_paths(job)


def check_paths(job: LabelJob) -> None:
    """Outputs never overlap an input or each other: nothing the user gave may be overwritten."""
    inputs = [("bag", bag) for bag in job.bags] + ([("--labels", job.labels_dir)] if job.labels_dir else [])
    outputs = [("--out", job.out)] + ([("--out-bag", job.out_bag)] if job.out_bag else [])
    for flag, output in outputs:
        for role, given in inputs:
            if _overlap(output, given):
                raise DatasetError(f"{flag} {output} overlaps the input {role} {given}; write somewhere else")
    if job.out_bag is not None and _overlap(job.out_bag, job.out):
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


def _overlap(a: Path, b: Path) -> bool:
    return _inside(a, b) or _inside(b, a)


def _keyframes_from_topics(reader: BagReader, job: LabelJob) -> dict[str, KeyframeSet]:
    """Read each label topic once into compact keyframe sets (PNG bytes in memory)."""
    found = {}
    for image_topic, label_topic in zip(job.image_topics, job.label_topics, strict=True):
        keyframes = KeyframeSet(camera_name(image_topic), f"{reader.path}:{label_topic}")
        for stamp, labels in reader.labels(label_topic):
            keyframes.add_labels(stamp, labels)
        found[keyframes.camera] = keyframes
    return found


def plan_bags(job: LabelJob, spec: LabelSpec) -> tuple[list[BagPlan], dict[str, str]]:
    """Plan every bag; a bag that cannot be read is a failure, a bad keyframe stops the run."""
    cameras = [camera_name(topic) for topic in job.image_topics]
    shared = keyframes_from_directory(job.labels_dir, cameras) if job.labels_dir else None
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
                    )
                    for topic in job.image_topics
                ]
            plans.append(BagPlan(bag, streams))
        except BagError as err:
            failures[str(bag)] = str(err)
    return plans, failures


# --- output ---------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    """Versions of what produced a dataset, for run.json."""
    found = {"warp_refine_ros": __version__, "python": platform.python_version()}
    for package in ("numpy", "opencv-python-headless", "onnxruntime", "rosbags", "torch", "tensorrt"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


# --- labeling -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What a worker needs to build the same propagator as the driver (picklable)."""

    engines: EngineSources
    config: PropagationConfig
    spec: LabelSpec


def load_engines(sources: EngineSources, method: Method) -> EngineSet:
    """Load the engines the method needs and only those."""
    return sources.load(
        motion=method.needs_motion, segmentation=method.needs_segmentation, refiner=method.needs_refiner
    )


def build_propagator(settings: Settings, times: StageTimes, loaded: EngineSet | None = None) -> Propagator:
    """A propagator over the method's engines (loaded here unless given), each timed into its stage."""
    method = settings.config.method
    loaded = loaded or load_engines(settings.engines, method)
    return Propagator(
        method,
        settings.spec,
        motion=TimedEngine(loaded.motion, "flow", "motion", times) if loaded.motion else None,
        segmentation=TimedEngine(loaded.segmentation, "segment", "segmentation", times)
        if loaded.segmentation
        else None,
        refiner=TimedEngine(loaded.refiner, "refine", "refine", times) if loaded.refiner else None,
        tau=settings.config.tau,
    )


@dataclass(frozen=True)
class WindowTask:
    """Consecutive windows of one stream for one worker; frames in ``done`` are not rewritten."""

    bag: Path
    plan: StreamPlan
    windows: tuple[Window, ...]
    done: frozenset[int]


def run_task(
    task: WindowTask,
    propagator: Propagator,
    radius: int,
    files: FrameFiles,
    sink: Callable[[ManifestRecord], None],
    times: StageTimes,
) -> None:
    """Label a task's windows; each frame's files are written before its record goes to ``sink``."""
    index = task.plan.index
    camera = camera_name(index.topic)
    writer = BackgroundWriter(files, sink)

    def write(labeled: LabeledFrame) -> None:
        if labeled.frame.stamp_ns in task.done:
            return
        frame = labeled.frame
        with times.stage("write"):  # time spent waiting on the writer threads, not their work
            writer.submit(index.bag, index.topic, camera, frame.image, frame.stamp_ns, labeled.labeling)

    cues = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engines")
    try:
        with BagReader(task.bag) as reader:
            for window in task.windows:
                label_window(reader, task.plan, window, propagator, radius, write, times, cues)
    finally:
        cues.shutdown(wait=True, cancel_futures=True)
        with times.stage("write"):
            writer.close()


def tasks_for(
    plans: list[BagPlan], done: set[tuple[str, str, int]], frames_per_task: int
) -> Iterator[WindowTask]:
    """Group each stream's unfinished windows into tasks of about ``frames_per_task`` frames."""
    for bag_plan in plans:
        for stream in bag_plan.streams:
            index = stream.index
            finished = frozenset(
                i for i, stamp in enumerate(index.stamps) if (index.bag, index.topic, stamp) in done
            )
            batch: list[Window] = []
            for window in stream.windows:
                if window.planned <= finished:
                    continue
                batch.append(window)
                if sum(len(w.planned) for w in batch) >= frames_per_task:
                    yield WindowTask(bag_plan.bag, stream, tuple(batch), _stamps(stream, finished))
                    batch = []
            if batch:
                yield WindowTask(bag_plan.bag, stream, tuple(batch), _stamps(stream, finished))


def _stamps(stream: StreamPlan, indices: frozenset[int]) -> frozenset[int]:
    return frozenset(stream.index.stamps[i] for i in indices)


# --- execution ------------------------------------------------------------------------------------

_WORKER_PROPAGATORS: dict[Settings, Propagator] = {}
_WORKER_TIMES = StageTimes()


def worker_run(task: WindowTask, settings: Settings, files: FrameFiles) -> tuple[list[ManifestRecord], dict]:
    """Run one task in a worker process (pool or Ray); engines are loaded once per process."""
    propagator = _WORKER_PROPAGATORS.get(settings)
    if propagator is None:
        propagator = _WORKER_PROPAGATORS[settings] = build_propagator(settings, _WORKER_TIMES)
    before = _WORKER_TIMES.summary()
    records: list[ManifestRecord] = []
    run_task(task, propagator, settings.config.radius, files, records.append, _WORKER_TIMES)
    return records, _difference(_WORKER_TIMES.summary(), before)


def _difference(after: dict, before: dict) -> dict:
    return {
        name: {
            "seconds": entry["seconds"] - before.get(name, {}).get("seconds", 0.0),
            "calls": entry["calls"] - before.get(name, {}).get("calls", 0),
        }
        for name, entry in after.items()
    }


class Progress:
    """One bar per (bag, camera), counting frames written toward the frames still to write."""

    def __init__(self, remaining: dict[tuple[str, str], int], enabled: bool) -> None:
        self.bars = {}
        for position, (key, total) in enumerate(remaining.items()):
            self.bars[key] = tqdm(
                total=total,
                desc=f"{key[0]} {camera_name(key[1])}",
                unit="frame",
                position=position,
                disable=not enabled,
                dynamic_ncols=True,
            )

    def update(self, record: ManifestRecord) -> None:
        self.bars[(record.bag, record.topic)].update()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def execute(
    tasks: list[WindowTask],
    settings: Settings,
    files: FrameFiles,
    sink: Callable[[ManifestRecord], None],
    times: StageTimes,
    failures: dict[str, str],
    *,
    workers: int,
    ray_address: str | None,
    propagator: Propagator,
) -> None:
    """Run the tasks here, in worker processes, or on Ray; records reach ``sink`` once their files exist.

    A bag that fails while it is labeled (a corrupt chunk, an image that is not what its header says)
    lands in ``failures`` and the other bags go on; its finished frames stay listed for a rerun."""
    if ray_address is not None:
        from warp_refine_ros.bags.cluster import run_on_ray

        for task, outcome in run_on_ray(tasks, settings, files, ray_address, workers):
            _collect(task, outcome, sink, times, failures)
    elif workers > 1:
        context = multiprocessing.get_context("spawn")  # engines and their thread pools do not survive fork
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(worker_run, task, settings, files): task for task in tasks}
            for future in as_completed(futures):
                _collect(futures[future], future.result, sink, times, failures)
    else:
        for task in tasks:
            if str(task.bag) in failures:
                continue
            try:
                run_task(task, propagator, settings.config.radius, files, sink, times)
            except BagError as err:
                failures[str(task.bag)] = str(err)


def _collect(
    task: WindowTask,
    outcome: Callable[[], tuple[list[ManifestRecord], dict]],
    sink: Callable[[ManifestRecord], None],
    times: StageTimes,
    failures: dict[str, str],
) -> None:
    try:
        records, summary = outcome()
    except BagError as err:
        failures.setdefault(str(task.bag), str(err))
        return
    for record in records:
        sink(record)
    times.merge(summary)


# --- the run --------------------------------------------------------------------------------------


def run(job: LabelJob, *, frames_per_task: int = 16) -> JobResult:
    """Label every bag of the job into job.out and write run.json; returns what happened.

    Every check (arguments, engines against the class spec, the output folder and its settings, each
    bag's topics and keyframes) comes before the first write, so a refused run leaves --out as it was.
    """
    started = time.perf_counter()
    times = StageTimes()
    with times.stage("setup"):  # engines, bag indexes, keyframe checks, the output folder
        check_inputs(job)
        loaded = load_engines(job.engines, job.config.method)
        spec = job.spec or (loaded.segmentation.spec if loaded.segmentation else LabelSpec.default())
        settings = Settings(job.engines, job.config, spec)
        propagator = build_propagator(settings, times, loaded)  # engines that do not fit the spec fail here
        folder = DatasetFolder.inspect(job.out)
        recorded = dataset_settings(job, spec)
        folder.check_settings(recorded)
        plans, failures = plan_bags(job, spec)
        if not plans:  # every bag failed before anything was written: leave no output behind
            return JobResult([], failures, times, time.perf_counter() - started, started=False)
        sizes = {bag_name(p.bag): bag_bytes(p.bag) for p in plans}
        streams = [stream for p in plans for stream in p.streams]
        changes = folder.plan_changes(streams, sizes)
        replace_bag = check_review_bag(job.out_bag, folder) if job.out_bag is not None else False
        validation = validate(job, plans, spec, loaded) if job.validate else None
        manifest = folder.prepare(recorded, spec, streams, sizes)
    done = {(r.bag, r.topic, r.stamp_ns) for r in manifest.records}
    reports = {(s.index.bag, s.index.topic): report_for(s) for s in streams}
    for record in manifest.records:
        if (report := reports.get((record.bag, record.topic))) is not None:
            report.frames_already_done += 1
    tasks = list(tasks_for(plans, done, frames_per_task if job.workers > 1 or job.ray_address else 10**9))
    remaining = {key: r.frames_planned - r.frames_already_done for key, r in reports.items()}
    progress = Progress(remaining, job.progress)

    def sink(record: ManifestRecord) -> None:
        manifest.append(record)
        report = reports[(record.bag, record.topic)]
        report.frames_written += 1
        report.offsets[record.offset] += 1
        progress.update(record)

    try:
        execute(
            tasks,
            settings,
            files_for(job, spec),
            sink,
            times,
            failures,
            workers=job.workers,
            ray_address=job.ray_address,
            propagator=propagator,
        )
    except WriteError as err:
        written = sum(r.frames_written for r in reports.values())
        raise WriteError(
            f"{err}. Free space or fix permissions and rerun the same command: the {written} frames "
            "written so far are kept and not labeled again."
        ) from err
    finally:
        progress.close()
        manifest.close()
    result = JobResult(
        list(reports.values()), failures, times, time.perf_counter() - started, changes, validation=validation
    )
    record = run_record(job, result, loaded)
    if job.split is not None or job.out_bag is not None:
        records = read_manifest(job.out / "manifest.jsonl")
        if job.split is not None:
            record["split"] = write_splits(job.out, records, job.split)
        if job.out_bag is not None:
            write_review(job, folder, records, spec, replace_bag)
    write_json(job.out / "run.json", record)
    return result


def validate(job: LabelJob, plans: list[BagPlan], spec: LabelSpec, loaded: EngineSet) -> dict:
    """Keyframe cross-validation of this run's settings and engines (see adaptation.crossval)."""
    from warp_refine_ros.adaptation.crossval import Candidate, Models, cross_validate
    from warp_refine_ros.adaptation.streams import LabeledStream, held_out_windows

    streams = [
        LabeledStream(p.bag, s.index.topic, s.index, s.match.by_index, s.keyframes)
        for p in plans
        for s in p.streams
    ]
    windows = held_out_windows(streams)
    if not windows:
        raise DatasetError(
            "--validate needs at least two keyframes in one stream: one is held out, one reaches it"
        )
    motion = job.engines.identity(["motion"])["motion"] or "none"
    candidate = Candidate(job.config.method, job.config.tau, motion)
    models = Models(loaded.segmentation, loaded.refiner)
    (estimate,) = cross_validate(
        windows, [candidate], spec, {motion: loaded.motion}, lambda _: models, progress=job.progress
    )
    return estimate.to_dict()


def dataset_settings(job: LabelJob, spec: LabelSpec) -> DatasetSettings:
    """The settings the dataset's labels depend on, as recorded in dataset.json."""
    method = job.config.method
    roles = [
        role
        for role, needed in (
            ("motion", method.needs_motion),
            ("segmentation", method.needs_segmentation),
            ("refiner", method.needs_refiner),
        )
        if needed
    ]
    return DatasetSettings(
        method=str(method),
        radius=job.config.radius,
        tau=job.config.tau,
        engines=job.engines.identity(roles),
        classes=spec.to_dict(),
        image_format=job.image_format,
        color=job.color,
    )


def write_review(
    job: LabelJob, folder: DatasetFolder, records: list[ManifestRecord], spec: LabelSpec, replace: bool
) -> None:
    """The review bag of the whole dataset; this dataset's earlier one is replaced only once it is done."""

    def write(path: Path) -> None:
        write_review_bag(job.out, records, path, spec, progress=job.progress)

    if replace:
        replace_review_bag(job.out_bag, write)
    else:
        write(job.out_bag)
    folder.remember_review_bag(job.out_bag)


def files_for(job: LabelJob, spec: LabelSpec) -> FrameFiles:
    return FrameFiles(job.out, spec, str(job.config.method), job.image_format, job.color)


def run_record(job: LabelJob, result: JobResult, engines: EngineSet) -> dict:
    """run.json: arguments, versions, engines, per-stage timings and per-stream outcomes."""
    frames = max(result.frames_written, 1)
    return {
        "arguments": job.arguments,
        **job.config.to_dict(),
        "versions": versions(),
        "engines": {"sources": asdict(job.engines), "loaded": engines.describe()},
        "timings": {
            "seconds": round(result.seconds, 3),
            "frames_written": result.frames_written,
            "frames_per_second": round(result.frames_written / max(result.seconds, 1e-9), 3),
            # after setup (engine loading, bag indexing): the rate a long bag runs at
            "labeling_frames_per_second": round(
                result.frames_written / max(result.seconds - result.times.seconds["setup"], 1e-9), 3
            ),
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
        **({"validation": result.validation} if result.validation else {}),
    }


def dry_run(job: LabelJob) -> tuple[str, dict[str, str]]:
    """What a run would do, as text: topics, keyframes matched, frames to write. Writes nothing."""
    check_inputs(job)
    loaded = load_engines(job.engines, job.config.method)
    spec = job.spec or (loaded.segmentation.spec if loaded.segmentation else LabelSpec.default())
    build_propagator(Settings(job.engines, job.config, spec), StageTimes(), loaded)
    folder = DatasetFolder.inspect(job.out)
    folder.check_settings(dataset_settings(job, spec))
    plans, failures = plan_bags(job, spec)
    sizes = {bag_name(p.bag): bag_bytes(p.bag) for p in plans}
    changes = {(c.bag, c.topic): c for c in folder.plan_changes([s for p in plans for s in p.streams], sizes)}
    if job.out_bag is not None:
        check_review_bag(job.out_bag, folder)
    done = {(r.bag, r.topic, r.stamp_ns) for r in read_manifest(job.out / "manifest.jsonl")}
    config = job.config
    lines = [f"method {config.method}, radius {config.radius}, tau {config.tau:g}, output {job.out}"]
    for bag_plan in plans:
        with BagReader(bag_plan.bag) as reader:
            topics = reader.topics
        lines.append(f"\n{bag_plan.bag}")
        lines += [f"  topic {t.name}  {t.msgtype}  {t.count} msgs" for t in topics.values()]
        for stream in bag_plan.streams:
            index = stream.index
            change = changes.get((index.bag, index.topic))
            redo = change.relabel | change.unlabeled if change else frozenset()
            planned = {index.stamps[i] for w in stream.windows for i in w.planned}
            already = sum((index.bag, index.topic, stamp) in done and stamp not in redo for stamp in planned)
            offsets = Counter(a for a in _offsets(stream))
            lines.append(
                f"  camera {camera_name(index.topic)}: {len(index.stamps)} images"
                + (f" ({index.dropped} out of stamp order skipped)" if index.dropped else "")
                + (f" in {len(stream.segments)} sizes" if len(stream.segments) > 1 else "")
                + f", {len(stream.match.by_index)} keyframes matched, {len(stream.match.missed)} unmatched, "
                f"{len(planned)} frames to label ({already} already done, {len(planned) - already} to write)"
            )
            if change:
                lines.append("    " + describe_change(change))
            lines.append("    by offset: " + "  ".join(f"{k:+d}:{n}" for k, n in sorted(offsets.items())))
    if job.validate and plans:
        lines.append("\n" + describe_validation(validate(job, plans, spec, loaded)))
    for bag, error in failures.items():
        lines.append(f"\n{bag}: cannot be labeled: {error}")
    return "\n".join(lines), failures


def describe_validation(estimate: dict) -> str:
    """The cross-validation estimate in words: what was measured and over how many frames."""
    return (
        f"keyframe cross-validation: estimated mIoU {estimate['estimated_miou']} % "
        f"(fused from both sides: {estimate['estimated_fused_miou']} %) over "
        f"{estimate['held_out_keyframes']} held-out keyframes, each labeled from its neighbouring keyframes "
        f"a median {estimate['median_frames_travelled']:g} frames away; labels within --radius travel less "
        "far and score higher"
    )


def describe_change(change: StreamChange) -> str:
    """One line on what changed keyframes do to a stream on a rerun."""
    return (
        f"keyframes since the last run: {change.added} added, {change.changed} changed, {change.removed} "
        f"removed -> {len(change.relabel)} frames relabeled, {len(change.unlabeled)} no longer labeled"
    )


def _offsets(stream: StreamPlan) -> Iterator[int]:
    """The offset each planned frame will be written with (its nearest keyframe)."""
    for start, end, _ in stream.segments:
        keyframes = [i - start for i in stream.match.by_index if start <= i < end]
        for assignment in plan(end - start, keyframes, stream.radius):
            yield assignment.nearest.offset
