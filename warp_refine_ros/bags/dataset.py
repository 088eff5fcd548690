"""The auto-labeled dataset on disk: atomic per-frame files and an append-only manifest.

Layout (see DESIGN.md)::

    OUT/manifest.jsonl  OUT/classes.yaml  OUT/run.json  OUT/dataset.json
    OUT/images/<folder>/<stamp_ns>.png|jpg  OUT/labels/<folder>/<stamp_ns>.png
    OUT/confidence/<folder>/<stamp_ns>.png  [OUT/color/<folder>/<stamp_ns>.png]

Naming rule: a camera stream's ``<folder>`` is its camera name (the topic without a transport suffix,
slashes as underscores: ``front_image_raw``), so a frame is named by camera and stamp. Frames of two bags
must never share a file, and bags whose stamps overlap (simulator runs that all start at t = 0) would:
a stream whose stamp span overlaps that of another bag's stream already in the camera's folder goes one
level deeper, ``<camera>/<bag>`` (:func:`stream_folder`). The first bag to take a folder keeps it, the
dataset records each stream's folder, and a rerun keeps it; the manifest lists every file's path.

Each file is written to a temporary name and renamed into place, and a frame's manifest line is
appended only after all its files exist, so the manifest never lists a half-written frame and a rerun
continues after the last line.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from warp_refine_ros.errors import DatasetError
from warp_refine_ros.fileio import atomic_write
from warp_refine_ros.labels import LabelSpec, overlay
from warp_refine_ros.propagation import Labeling

IMAGE_FORMATS = ("png", "jpg")


@dataclass(frozen=True)
class ManifestRecord:
    """One written frame, as a line of manifest.jsonl; paths are relative to the dataset root."""

    bag: str
    topic: str
    camera: str
    stamp_ns: int
    image: str
    label: str
    confidence: str
    keyframe_stamp_ns: int
    offset: int
    method: str
    confidence_mean: float


def encode(image: np.ndarray, suffix: str) -> bytes:
    """PNG/JPEG bytes of an RGB (H, W, 3) or one-channel (H, W) uint8 array."""
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if suffix == ".jpg" else []
    ok, data = cv2.imencode(suffix, pixels, params)
    if not ok:
        raise DatasetError(f"cannot encode a {image.shape} image as {suffix}")
    return data.tobytes()


def frame_files(folder: str, stamp_ns: int, image_format: str, color: bool) -> dict[str, str]:
    """Where one frame's files go, relative to the dataset: image, label, confidence (and color)."""
    names = {
        "image": f"images/{folder}/{stamp_ns}.{image_format}",
        "label": f"labels/{folder}/{stamp_ns}.png",
        "confidence": f"confidence/{folder}/{stamp_ns}.png",
    }
    return names | ({"color": f"color/{folder}/{stamp_ns}.png"} if color else {})


Span = tuple[float, float]  # first and last stamp of a stream (infinite when not known)


def stream_folder(camera: str, bag: str, span: Span, taken: Iterable[tuple[str, str, Span]]) -> str:
    """The naming rule's folder for a new stream: ``camera``, unless a stream of another bag in that
    folder (``taken``: folder, bag, span) overlaps its stamps; then ``camera/bag``."""
    first, last = span
    clash = any(
        folder == camera and other != bag and first <= other_last and other_first <= last
        for folder, other, (other_first, other_last) in taken
    )
    return f"{camera}/{bag}" if clash else camera


class StreamFrame(NamedTuple):
    """Which frame of which stream a file is written for."""

    bag: str
    topic: str
    camera: str
    folder: str  # the stream's folder under images/, labels/, ... (see the naming rule above)
    stamp_ns: int


@dataclass(frozen=True)
class FrameFiles:
    """Writes one frame's image, label, confidence (and optional colour overlay) into a dataset root."""

    root: Path
    spec: LabelSpec
    method: str
    image_format: str = "png"
    color: bool = False

    def write(self, frame: StreamFrame, image: np.ndarray, labeling: Labeling) -> ManifestRecord:
        """Write the files atomically and return the manifest record that lists them."""
        bag, topic, camera, folder, stamp_ns = frame
        names = frame_files(folder, stamp_ns, self.image_format, self.color)
        atomic_write(self.root / names["image"], encode(image, f".{self.image_format}"))
        atomic_write(self.root / names["label"], encode(labeling.labels, ".png"))
        atomic_write(self.root / names["confidence"], encode(labeling.confidence, ".png"))
        if self.color:
            colored = overlay(image, self.spec.colorize(labeling.labels))
            atomic_write(self.root / names.pop("color"), encode(colored, ".png"))
        return ManifestRecord(
            bag=bag,
            topic=topic,
            camera=camera,
            stamp_ns=stamp_ns,
            keyframe_stamp_ns=labeling.keyframe_stamp_ns,
            offset=labeling.offset,
            method=self.method,
            confidence_mean=round(float(labeling.confidence.mean()) / 255.0, 4),
            **names,
        )


def read_manifest(path: Path, *, repair: bool = False) -> list[ManifestRecord]:
    """The complete records of a manifest; ``repair`` also cuts off a last line a crash left unfinished."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    complete, tail = lines[:-1], lines[-1]
    if tail and repair:  # its files may exist, but the frame never finished: it will be redone
        path.write_text("".join(f"{line}\n" for line in complete), encoding="utf-8")
    records = []
    for number, line in enumerate(complete, start=1):
        try:
            records.append(ManifestRecord(**json.loads(line)))
        except (json.JSONDecodeError, TypeError) as err:
            raise DatasetError(
                f"{path}:{number}: not a manifest record ({err}); "
                "was this directory written by another tool? Use a new --out."
            ) from err
    return records


def rewrite_manifest(path: Path, records: list[ManifestRecord]) -> None:
    """Replace the manifest with ``records`` in one atomic write (frames to relabel are left out)."""
    atomic_write(path, "".join(json.dumps(asdict(record)) + "\n" for record in records).encode())


class Manifest:
    """OUT/manifest.jsonl: read on open (for resuming), appended one flushed line per frame."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records = read_manifest(path, repair=True)
        self._handle = path.open("a", encoding="utf-8")

    def append(self, record: ManifestRecord) -> None:
        self._handle.write(json.dumps(asdict(record)) + "\n")
        self._handle.flush()
        self.records.append(record)

    def close(self) -> None:
        self._handle.close()


def split_by_bag(records: list[ManifestRecord], val_fraction: float) -> dict[str, list[str]]:
    """Bags for train and val, so frames of one drive never land on both sides.

    Bags are ordered by a hash of their name, so a bag keeps its side when bags are added later
    and the choice does not depend on the order they were given in.
    """
    bags = sorted({r.bag for r in records}, key=lambda name: hashlib.sha1(name.encode()).hexdigest())
    if len(bags) < 2:
        raise DatasetError(f"--split needs at least two bags to split by bag; the dataset has {len(bags)}")
    count = min(max(1, round(val_fraction * len(bags))), len(bags) - 1)
    return {"train": sorted(bags[count:]), "val": sorted(bags[:count])}


def write_splits(root: Path, records: list[ManifestRecord], val_fraction: float) -> dict[str, list[str]]:
    """OUT/train.txt and OUT/val.txt: one ``image label`` pair of relative paths per line."""
    sides = split_by_bag(records, val_fraction)
    for side, bags in sides.items():
        chosen = set(bags)
        lines = [f"{r.image} {r.label}\n" for r in records if r.bag in chosen]
        atomic_write(root / f"{side}.txt", "".join(lines).encode())
    return sides


class BackgroundWriter:
    """Writes frames on threads while propagation goes on; records reach ``sink`` in submission order.

    PNG/JPEG encoding and file I/O release the GIL, so on a multi-core machine writing overlaps the
    engines. At most ``max_pending`` frames wait, which bounds memory.
    """

    def __init__(
        self,
        files: FrameFiles,
        sink: Callable[[ManifestRecord], None],
        *,
        threads: int = 2,
        max_pending: int = 8,
    ) -> None:
        self._files = files
        self._sink = sink
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="writer")
        self._pending: deque[Future[ManifestRecord]] = deque()
        self._max_pending = max_pending

    def submit(self, frame: StreamFrame, image: np.ndarray, labeling: Labeling) -> None:
        self._pending.append(self._pool.submit(self._files.write, frame, image, labeling))
        while self._pending and (self._pending[0].done() or len(self._pending) > self._max_pending):
            self._sink(self._pending.popleft().result())

    def close(self) -> None:
        """Wait for every submitted frame and hand over its record (re-raising a failed write)."""
        try:
            while self._pending:
                self._sink(self._pending.popleft().result())
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
