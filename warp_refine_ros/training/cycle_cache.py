"""The refiner's training data, computed once: cycle labels of each keyframe for every length l.

For each keyframe t and direction (forward: t+1.., backward: t-1..) the cache stores
``argmax L°_t`` after l = 1..L warp-inpaint steps there and back (as channel ids, 255 = no class),
next to the keyframe image, its label and g's features of the image. The cycles go through the same
:class:`Propagator` the labeler runs (motion engine, segmentation engine, tau), so the refiner learns
on the errors it will see. The refiner's input is one-hot(argmax L°) (section 4.2), so nothing is lost.
Epochs then cost only the refiner. Layout::

    CACHE/<bag>-<key>/<camera>/<stamp_ns>/image.png  label.png  features.npy  forward_<l>.png
                                          backward_<l>.png  entry.json (written last)

``<key>`` changes with the bag, the keyframe labels, the segmentation engine file, the motion
engine and tau, so a changed input never reuses stale cycles.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from warp_refine_ros import runners
from warp_refine_ros.bags.keyframes import camera_name
from warp_refine_ros.bags.reader import BagReader, bag_name
from warp_refine_ros.engines.loading import EngineSet, canonical_motion
from warp_refine_ros.errors import DatasetError, EngineError
from warp_refine_ros.fileio import atomic_write
from warp_refine_ros.labels import LabelSpec, read_label_png
from warp_refine_ros.progress import progress_bar
from warp_refine_ros.propagation import DEFAULT_TAU, Method, Propagator
from warp_refine_ros.training.cycles import cycles_by_length
from warp_refine_ros.training.distributed import Distributed
from warp_refine_ros.training.sources import KeyframeStream, read_rgb, source_key, write_png

VERSION = 1
DIRECTIONS = ("forward", "backward")


@dataclass(frozen=True)
class CycleSettings:
    """The propagation the cycles are made with: the same engines and tau as the labeler's."""

    segmentation: str  # engine file (.onnx, .pt, .engine)
    motion: str = "dis"
    tau: float = DEFAULT_TAU
    max_length: int = 6
    device: str = "cpu"  # where the engines run

    def key(self) -> str:
        """A hash of what the cycles depend on (not max_length: longer caches serve shorter needs)."""
        files = [Path(self.segmentation)] + ([Path(self.motion)] if Path(self.motion).suffix else [])
        motion = canonical_motion(self.motion)  # "dis" names whichever preset is the default today
        return source_key(*files)[:8] + f"-{motion.replace(':', '_').replace('/', '_')[-24:]}-{self.tau:g}"


@dataclass(frozen=True)
class CycleEntry:
    """One keyframe in the cache and the cycle lengths it has in each direction."""

    folder: Path
    stamp_ns: int
    forward: int
    backward: int

    @property
    def image(self) -> Path:
        return self.folder / "image.png"

    @property
    def label(self) -> Path:
        return self.folder / "label.png"

    @property
    def features(self) -> Path:
        return self.folder / "features.npy"

    def cycle(self, direction: str, length: int) -> Path:
        return self.folder / f"{direction}_{length}.png"

    def lengths(self, direction: str) -> int:
        return self.forward if direction == "forward" else self.backward


@dataclass(frozen=True)
class Task:
    """One keyframe to cache: its stream, frame index and folder."""

    stream: KeyframeStream
    index: int
    folder: Path


def plan_tasks(streams: list[KeyframeStream], settings: CycleSettings, root: Path) -> list[Task]:
    """One task per matched keyframe, in a fixed order (the same on every rank)."""
    tasks = []
    for stream in streams:
        source = stream.source
        key = f"{bag_name(source.bag)}-{source_key(source.bag, source.labels)}-{settings.key()}"
        folder = root / key / camera_name(source.topic)
        for index in sorted(stream.keyframes):
            tasks.append(Task(stream, index, folder / str(stream.index.stamps[index])))
    return tasks


def read_entry(folder: Path, max_length: int) -> CycleEntry | None:
    """The cached entry, or None if it is missing or holds fewer lengths than asked for."""
    path = folder / "entry.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("version") != VERSION or data["max_length"] < max_length:
        return None
    return CycleEntry(
        folder, data["stamp_ns"], min(data["forward"], max_length), min(data["backward"], max_length)
    )


def build_entry(task: Task, propagator: Propagator, max_length: int) -> None:
    """Compute and write one keyframe's cycles, features, image and label; entry.json last."""
    stream, index = task.stream, task.index
    start, end = next((a, b) for a, b in stream.index.segments() if a <= index < b)  # cycles keep one size
    first, last = max(start, index - max_length), min(end - 1, index + max_length)
    with BagReader(stream.source.bag) as reader:
        frames = reader.frames(stream.index, first, last)
    key = frames[index - first]
    stamp = stream.keyframes[index]
    labels = propagator.spec.validate(
        stream.labels.load(stamp), shape=key.image.shape, name=stream.labels.name(stamp)
    )
    folder = task.folder
    folder.mkdir(parents=True, exist_ok=True)
    write_png(folder / "image.png", key.image)
    write_png(folder / "label.png", labels)
    features = propagator.segment(key).features
    if features is None:
        raise EngineError(f"{propagator.segmentation.name} gives no features; the refiner needs them")
    np.save(folder / "features.npy", features.astype(np.float16))
    paths = {"forward": frames[index - first :], "backward": frames[index - first :: -1]}
    lengths = {}
    for direction, path in paths.items():
        cycles = cycles_by_length(propagator, path, labels) if max_length else []
        for length, state in enumerate(cycles, start=1):
            channels = propagator.ops.channels(state)
            write_png(folder / f"{direction}_{length}.png", channels)
        lengths[direction] = len(cycles)
    entry = {"version": VERSION, "stamp_ns": key.stamp_ns, "max_length": max_length, **lengths}
    atomic_write(folder / "entry.json", json.dumps(entry).encode())


class _Worker:
    """Engines loaded once per process, then keyframes built one after another."""

    propagator: Propagator | None = None

    @classmethod
    def start(cls, settings: CycleSettings, spec: LabelSpec) -> None:
        engines = EngineSet.from_files(
            motion=settings.motion, segmentation=settings.segmentation, device=settings.device
        )
        cls.propagator = Propagator.from_engines(Method.WARP_INPAINT, spec, engines, tau=settings.tau)

    @classmethod
    def run(cls, task: Task, max_length: int) -> None:
        build_entry(task, cls.propagator, max_length)


def _build(tasks: list[Task], settings: CycleSettings, spec: LabelSpec, workers: int) -> Iterator[None]:
    if workers <= 1:
        _Worker.start(settings, spec)
        for task in tasks:
            yield _Worker.run(task, settings.max_length)
        return
    running = runners.in_processes(
        tasks,
        _Worker.run,
        settings.max_length,
        workers=workers,
        initializer=_Worker.start,
        initargs=(settings, spec),
    )
    for _, outcome in running:
        yield outcome()


def build_cycle_cache(
    streams: list[KeyframeStream],
    settings: CycleSettings,
    root: Path,
    spec: LabelSpec,
    *,
    dist: Distributed,
    workers: int = 1,
    progress: bool = True,
) -> list[CycleEntry]:
    """Cache every keyframe's cycles (ranks share the work; finished entries are kept) and list them."""
    tasks = plan_tasks(streams, settings, root)
    if not tasks:
        raise DatasetError("no keyframes to train the refiner on")
    todo = [t for i, t in enumerate(tasks) if i % dist.world_size == dist.rank]
    todo = [t for t in todo if read_entry(t.folder, settings.max_length) is None]
    if todo:
        bar = progress_bar(
            _build(todo, settings, spec, workers),
            total=len(todo),
            desc=f"cycle cache (rank {dist.rank})" if dist.enabled else "cycle cache",
            unit="keyframe",
            enabled=progress,
        )
        for _ in bar:
            pass
    dist.barrier()
    entries = [read_entry(t.folder, settings.max_length) for t in tasks]
    missing = [str(t.folder) for t, e in zip(tasks, entries, strict=True) if e is None]
    if missing:
        raise DatasetError(f"the cycle cache is incomplete after building: {missing[:3]}")
    return entries


def load_entry(entry: CycleEntry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The keyframe's image (H, W, 3) RGB, label ids (H, W) and features (D, h, w) float32."""
    features = np.load(entry.features).astype(np.float32)
    return read_rgb(entry.image), read_label_png(entry.label), features


def load_cycle(entry: CycleEntry, direction: str, length: int) -> np.ndarray:
    """argmax L°_t as channel ids (H, W) uint8, 255 where no class had mass."""
    channels = cv2.imread(str(entry.cycle(direction, length)), cv2.IMREAD_UNCHANGED)
    if channels is None:
        raise DatasetError(f"{entry.cycle(direction, length)} is missing or corrupt; delete the cache entry")
    return channels
