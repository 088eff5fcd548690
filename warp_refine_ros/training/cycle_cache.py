"""The refiner's training data, computed once: each keyframe's cycle ends for every length l.

For each keyframe t and direction (forward: t+1.., backward: t-1..) the cache stores what Omega sees
when the cycle of length l arrives back at t (:func:`~warp_refine_ros.propagation.cycles`): the warped
labels' arg-max (channel ids, 255 = no class) and the trust mask, next to the keyframe image, its label
and g's probabilities of the image. The cycles go through the same :class:`Propagator` the labeler runs
(motion engine, segmentation engine, tau), so the refiner learns on the errors it will see. With several
motions or taus, each keyframe's cycles use one of them (drawn from its stamp), so one Omega learns for
every setting the calibration may choose. Epochs then cost only the refiner. Layout::

    CACHE/<bag>-<key>/<camera>/<stamp_ns>/image.png  label.png  segmentation.npy  forward_<l>.png
                                          forward_<l>_trust.png  backward_<l>...  entry.json (last)

``<key>`` changes with the bag, the keyframe labels, the segmentation engine file, the motions and
taus, so a changed input never reuses stale cycles.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

from warp_refine_ros import runners
from warp_refine_ros.bags.keyframes import camera_name
from warp_refine_ros.bags.reader import BagReader, bag_name
from warp_refine_ros.engines.loading import EngineSet, canonical_motion, load_motion
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.fileio import atomic_write
from warp_refine_ros.labels import LabelSpec, read_label_png
from warp_refine_ros.progress import progress_bar
from warp_refine_ros.propagation import DEFAULT_TAU, Method, Propagator, cycles
from warp_refine_ros.training.distributed import Distributed
from warp_refine_ros.training.sources import KeyframeStream, read_rgb, source_key, write_png

VERSION = 2  # version 1 held the cycled labels and g's features, for the refiner of an earlier release
DIRECTIONS = ("forward", "backward")


@dataclass(frozen=True)
class CycleSettings:
    """The propagation the cycles are made with: the labeler's engines, and its motion and tau or several
    of each (a keyframe's cycles use one pair of them, drawn from its stamp)."""

    segmentation: str  # engine file (.onnx, .pt, .engine)
    motions: tuple[str, ...] = ("dis",)
    taus: tuple[float, ...] = (DEFAULT_TAU,)
    max_length: int = 6
    device: str = "cpu"  # where the engines run

    def __post_init__(self) -> None:
        object.__setattr__(self, "motions", tuple(canonical_motion(m) for m in self.motions))
        object.__setattr__(self, "taus", tuple(float(t) for t in self.taus))
        if not self.motions or not self.taus:
            raise ValueError("cycles need at least one motion and one tau")

    def variant(self, stamp_ns: int) -> tuple[str, float]:
        """The (motion, tau) of one keyframe's cycles."""
        pairs = [(motion, tau) for motion in self.motions for tau in self.taus]
        # Stamps are multiples of a frame period, which a plain modulus keeps in step with: hash them first.
        digest = hashlib.blake2b(stamp_ns.to_bytes(16, "little", signed=True), digest_size=8).digest()
        return pairs[int.from_bytes(digest, "little") % len(pairs)]

    def key(self) -> str:
        """A hash of what the cycles depend on (not max_length: longer caches serve shorter needs)."""
        files = [Path(self.segmentation)] + [Path(m) for m in self.motions if Path(m).suffix]
        names = "_".join(m.replace(":", "-").replace("/", "_")[-24:] for m in self.motions)
        return source_key(*files)[:8] + f"-{names}-{'_'.join(f'{t:g}' for t in self.taus)}"


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
    def segmentation(self) -> Path:
        return self.folder / "segmentation.npy"

    def cycle(self, direction: str, length: int) -> Path:
        return self.folder / f"{direction}_{length}.png"

    def trust(self, direction: str, length: int) -> Path:
        return self.folder / f"{direction}_{length}_trust.png"

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
    """Compute and write one keyframe's cycle ends, g's probabilities, image and label; entry.json last."""
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
    np.save(folder / "segmentation.npy", propagator.segment(key).coarse.astype(np.float16))
    paths = {"forward": frames[index - first :], "backward": frames[index - first :: -1]}
    lengths = {}
    for direction, path in paths.items():
        ends = cycles(propagator, path, labels) if max_length else []
        for length, end in enumerate(ends, start=1):
            write_png(folder / f"{direction}_{length}.png", end.channels)
            write_png(folder / f"{direction}_{length}_trust.png", end.trusted.astype(np.uint8) * 255)
        lengths[direction] = len(ends)
    entry = {
        "version": VERSION,
        "stamp_ns": key.stamp_ns,
        "max_length": max_length,
        "motion": propagator.motion.name,
        "tau": propagator.tau,
        **lengths,
    }
    atomic_write(folder / "entry.json", json.dumps(entry).encode())


class _Worker:
    """Engines loaded once per process (a propagator per motion and tau), then keyframes one by one."""

    propagators: ClassVar[dict[tuple[str, float], Propagator]] = {}
    settings: ClassVar[CycleSettings | None] = None

    @classmethod
    def start(cls, settings: CycleSettings, spec: LabelSpec) -> None:
        segmentation = EngineSet.from_files(
            motion=None, segmentation=settings.segmentation, device=settings.device
        ).segmentation
        cls.settings = settings
        cls.propagators = {}
        for motion in settings.motions:
            engines = EngineSet(motion=load_motion(motion, device=settings.device), segmentation=segmentation)
            for tau in settings.taus:
                propagator = Propagator.from_engines(Method.WARP_INPAINT, spec, engines, tau=tau)
                cls.propagators[(motion, tau)] = propagator

    @classmethod
    def run(cls, task: Task, max_length: int) -> None:
        variant = cls.settings.variant(task.stream.keyframes[task.index])
        build_entry(task, cls.propagators[variant], max_length)


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
    """The keyframe's image (H, W, 3) RGB, label ids (H, W) and g's probabilities (h, w, C) float32."""
    segmentation = np.load(entry.segmentation).astype(np.float32)
    return read_rgb(entry.image), read_label_png(entry.label), segmentation


def load_cycle(entry: CycleEntry, direction: str, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The cycle end of length l: the warped labels' channel ids (H, W) uint8 (255 where no class had
    mass) and the trust mask (H, W) bool."""
    found = []
    for path in (entry.cycle(direction, length), entry.trust(direction, length)):
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise DatasetError(f"{path} is missing or corrupt; delete the cache entry {entry.folder}")
        found.append(image)
    channels, trust = found
    return channels, trust > 127
