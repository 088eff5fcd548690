"""Labeling bag_label's windows: here, in worker processes or over Ray, frames written as they finish.

A task is consecutive windows of one stream; a worker builds the propagator once per process, labels
its windows and returns the manifest records of the frames it wrote. A bag that fails while it is
labeled (a corrupt chunk, an image that is not what its header says) becomes a failure of that bag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from warp_refine_ros import runners
from warp_refine_ros.bags.dataset import BackgroundWriter, FrameFiles, ManifestRecord, StreamFrame
from warp_refine_ros.bags.keyframes import camera_name
from warp_refine_ros.bags.planning import BagPlan
from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.bags.request import Sink
from warp_refine_ros.bags.stream_plan import StreamPlan
from warp_refine_ros.bags.window_labeling import label_window
from warp_refine_ros.engines.loading import EngineSet, EngineSources
from warp_refine_ros.errors import BagError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import KeyframeWindow, LabeledFrame, Propagator
from warp_refine_ros.propagation.config import PropagationConfig
from warp_refine_ros.propagation.ops import backend
from warp_refine_ros.timing import StageTimes, timed


@dataclass(frozen=True)
class PropagatorRecipe:
    """What a worker process needs to build the same propagator as the driver (picklable)."""

    engines: EngineSources
    config: PropagationConfig
    spec: LabelSpec
    backend: str | None = None  # propagation arrays: numpy or torch (None: torch on a GPU, else numpy)


def build_propagator(
    recipe: PropagatorRecipe, times: StageTimes, loaded: EngineSet | None = None
) -> Propagator:
    """A propagator over the method's engines (loaded here unless given), each timed into its stage."""
    config = recipe.config
    loaded = loaded or recipe.engines.load(config.method.roles)
    ops = backend(recipe.backend, recipe.engines.device)
    return Propagator.from_engines(config.method, recipe.spec, timed(loaded, times), tau=config.tau, ops=ops)


@dataclass(frozen=True)
class WindowTask:
    """Consecutive windows of one stream for one worker; frames in ``done`` are not rewritten."""

    bag: Path
    plan: StreamPlan
    windows: tuple[KeyframeWindow, ...]
    done: frozenset[int]


def run_task(
    task: WindowTask, propagator: Propagator, radius: int, files: FrameFiles, sink: Sink, times: StageTimes
) -> dict[int, str]:
    """Label a task's windows; each frame's files are written before its record goes to ``sink``.
    Returns the frames left out because they cannot be decoded (stamp -> why)."""
    index = task.plan.index
    camera, folder = camera_name(index.topic), task.plan.folder
    writer = BackgroundWriter(files, sink)
    skipped: dict[int, str] = {}

    def write(labeled: LabeledFrame) -> None:
        if labeled.frame.stamp_ns in task.done:
            return
        frame = StreamFrame(index.bag, index.topic, camera, folder, labeled.frame.stamp_ns)
        with times.stage("write"):  # time spent waiting on the writer threads, not their work
            writer.submit(frame, labeled.frame.image, labeled.labeling)

    # One thread runs the engines ahead while this one propagates: both cores busy with one process.
    # More would be correct too (label_window alone touches the frames) but do not fit two cores.
    engines = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engines")
    try:
        with BagReader(task.bag) as reader:
            for window in task.windows:
                label_window(reader, task.plan, window, propagator, radius, write, times, engines, skipped)
    finally:
        engines.shutdown(wait=True, cancel_futures=True)
        with times.stage("write"):
            writer.close()
    return skipped


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
            batch: list[KeyframeWindow] = []
            for window in stream.windows:
                if finished.issuperset(window.written):
                    continue
                batch.append(window)
                if sum(len(w.written) for w in batch) >= frames_per_task:
                    yield WindowTask(bag_plan.bag, stream, tuple(batch), _stamps(stream, finished))
                    batch = []
            if batch:
                yield WindowTask(bag_plan.bag, stream, tuple(batch), _stamps(stream, finished))


def _stamps(stream: StreamPlan, indices: frozenset[int]) -> frozenset[int]:
    return frozenset(stream.index.stamps[i] for i in indices)


class LabelingWorker:
    """bag_label in a worker process (pool or Ray actor): engines loaded at its first task, then its
    tasks one after another, each returning its records, stage timings and frames left out."""

    def __init__(self, recipe: PropagatorRecipe, files: FrameFiles) -> None:
        self.recipe, self.files = recipe, files
        self.times = StageTimes()
        self._propagator: Propagator | None = None

    def run(self, task: WindowTask) -> TaskOutcome:
        if self._propagator is None:  # here, not in __init__: a failure is then the task's, with its message
            self._propagator = build_propagator(self.recipe, self.times)
        records: list[ManifestRecord] = []
        radius = self.recipe.config.radius
        skipped = run_task(task, self._propagator, radius, self.files, records.append, self.times)
        return records, self.times.take(), skipped


TaskOutcome = tuple[list[ManifestRecord], dict, dict[int, str]]
"""A worker's records, stage timings and frames left out as undecodable."""


def execute(
    tasks: list[WindowTask],
    recipe: PropagatorRecipe,
    files: FrameFiles,
    sink: Sink,
    times: StageTimes,
    failures: dict[str, str],
    *,
    workers: int,
    ray_address: str | None,
    propagator: Propagator,
    skipped: Skipped,
) -> None:
    """Run the tasks here, in worker processes, or on Ray; records reach ``sink`` once their files exist,
    and frames left out as undecodable reach ``skipped``.

    A bag that fails while it is labeled lands in ``failures`` and the other bags go on; its finished
    frames stay listed for a rerun."""
    if ray_address is None and workers <= 1:
        for task in tasks:
            if str(task.bag) in failures:
                continue  # the rest of a bag that failed would fail again
            try:
                skipped(task.plan, run_task(task, propagator, recipe.config.radius, files, sink, times))
            except BagError as err:
                failures[str(task.bag)] = str(err)
        return
    finished = runners.on_workers(
        tasks, LabelingWorker, recipe, files, workers=workers, ray_address=ray_address
    )
    for task, outcome in finished:
        try:
            records, summary, left_out = outcome()
        except BagError as err:
            failures.setdefault(str(task.bag), str(err))
            continue
        for record in records:
            sink(record)
        times.merge(summary)
        skipped(task.plan, left_out)


Skipped = Callable[[StreamPlan, dict[int, str]], None]
"""Told of a task's frames left out as undecodable (stamp -> why)."""


def files_for(
    out: Path, spec: LabelSpec, config: PropagationConfig, image_format: str, color: bool
) -> FrameFiles:
    """What writes each labeled frame's files into the dataset."""
    return FrameFiles(out, spec, str(config.method), image_format, color)
