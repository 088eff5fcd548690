"""Where labeled frames come from: keyframes in bags, folders of image/label pairs, bag_label output.

Every source becomes a list of :class:`LabeledImage` (an image file and its label PNG). Keyframe
images are decoded from the bag once and kept as PNGs in a cache folder, next to a copy of their
label, so training epochs never touch the bag. Only frames that have a keyframe label are read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from warp_refine_ros.bags.dataset import encode, read_manifest
from warp_refine_ros.bags.keyframes import KeyframeSet, camera_name, keyframes_from_directory
from warp_refine_ros.bags.reader import BagReader, bag_name
from warp_refine_ros.bags.stream_index import StreamIndex, index_stream, match_keyframes
from warp_refine_ros.errors import DatasetError, UsageError
from warp_refine_ros.fileio import atomic_write
from warp_refine_ros.labels import LabelSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class LabeledImage:
    """One training frame: an RGB image file and its label PNG (class ids, ignore id)."""

    image: Path
    label: Path
    group: str  # the bag or folder it came from
    manual: bool = True  # a human label (keyframe) rather than a propagated one
    confidence: Path | None = None  # per-pixel confidence PNG of a propagated label (255 = certain)


@dataclass(frozen=True)
class KeyframeSource:
    """One bag's image topic with its keyframe label PNGs (``<stamp_ns>.png``)."""

    bag: Path
    topic: str
    labels: Path
    tolerance_ns: int = 0


@dataclass
class KeyframeStream:
    """A source with its image stamps read and its keyframe labels matched to frames."""

    source: KeyframeSource
    index: StreamIndex
    keyframes: dict[int, int]  # frame index -> keyframe stamp
    labels: KeyframeSet

    @property
    def name(self) -> str:
        return f"{self.source.bag}:{self.source.topic}"


def match_source(source: KeyframeSource, spec: LabelSpec) -> KeyframeStream:
    """Read the topic's stamps and match the keyframe labels (read through ``spec``) to its frames; no
    pixel is decoded."""
    with BagReader(source.bag) as reader:
        index = index_stream(bag_name(source.bag), source.topic, reader.image_index(source.topic))
    camera = camera_name(source.topic)
    labels = keyframes_from_directory(source.labels, [camera], spec)[camera]
    match = match_keyframes(index.stamps, labels.stamps, source.tolerance_ns)
    if not match.by_index:
        raise DatasetError(
            f"{source.bag}: none of the {len(labels)} keyframe labels in {source.labels} matches an image "
            f"header stamp on {source.topic}; label files must be named <stamp_ns>.png after the image's "
            "header stamp (or pass a stamp tolerance)"
        )
    return KeyframeStream(source, index, match.by_index, labels)


def source_key(*paths: Path) -> str:
    """A short hash of paths and their sizes and modification times: a cache key that changes with them."""
    digest = hashlib.sha1()
    for path in paths:
        path = path.resolve()
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        digest.update(str(path).encode())
        for file in files:
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def write_png(path: Path, pixels: np.ndarray) -> None:
    """An RGB image or a one-channel label as a PNG, written atomically."""
    atomic_write(path, encode(pixels, ".png"))


def read_rgb(path: Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB."""
    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if pixels is None:
        raise DatasetError(f"{path}: cannot read as an image (missing or corrupt)")
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


def extract_keyframes(stream: KeyframeStream, cache: Path, spec: LabelSpec) -> list[LabeledImage]:
    """Decode the keyframe images of a stream into ``cache`` with their labels; reuse earlier extractions."""
    source = stream.source
    folder = (
        cache / f"{bag_name(source.bag)}-{source_key(source.bag, source.labels)}" / camera_name(source.topic)
    )
    items = {
        stamp: LabeledImage(folder / f"{stamp}.png", folder / f"{stamp}.label.png", stream.name)
        for stamp in (stream.index.stamps[i] for i in stream.keyframes)
    }
    missing = {stamp for stamp, item in items.items() if not item.label.is_file()}
    if missing:
        by_image = {stream.index.stamps[i]: key for i, key in stream.keyframes.items()}
        with BagReader(source.bag) as reader:
            for message in reader.images([source.topic]):
                if message.stamp_ns in missing:
                    image = message.decode()
                    name = stream.labels.name(by_image[message.stamp_ns])
                    labels = spec.validate(
                        stream.labels.load(by_image[message.stamp_ns]), shape=image.shape, name=name
                    )
                    write_png(items[message.stamp_ns].image, image)
                    write_png(items[message.stamp_ns].label, labels)  # last: marks the pair complete
                    missing.discard(message.stamp_ns)
    return [items[stamp] for stamp in sorted(items)]


def folder_pairs(images: Path, labels: Path) -> list[LabeledImage]:
    """Images and label PNGs paired by file stem; a label without an image is an error."""
    for folder, role in ((images, "image"), (labels, "label")):
        if not folder.is_dir():
            raise DatasetError(f"{role} folder {folder} does not exist")
    by_stem = {p.stem: p for p in sorted(images.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    label_files = sorted(labels.glob("*.png"))
    orphans = [p.name for p in label_files if p.stem not in by_stem]
    if orphans:
        raise DatasetError(
            f"{labels}: {len(orphans)} label(s) have no image of the same stem in {images} "
            f"(e.g. {', '.join(orphans[:3])}); images and labels are paired by file name without suffix"
        )
    if not label_files:
        raise DatasetError(f"{labels} holds no label PNGs to pair with the images in {images}")
    return [LabeledImage(by_stem[p.stem], p, str(images)) for p in label_files]


def autolabeled_items(
    root: Path,
    *,
    methods: Iterable[str] | None = None,
    max_offset: int | None = None,
    min_confidence: float | None = None,
) -> list[LabeledImage]:
    """The frames of a bag_label output, filtered by method, |offset| and mean confidence.

    Offset-0 frames are the keyframes' human labels (``manual``); the others were propagated and
    carry their per-pixel confidence PNG.
    """
    path = root / "manifest.jsonl"
    if not path.is_file():
        raise DatasetError(f"{path} does not exist; --dataset takes a directory written by bag_label")
    wanted = set(methods) if methods is not None else None
    items = [
        LabeledImage(
            root / record.image,
            root / record.label,
            record.bag,
            manual=record.offset == 0,
            confidence=None if record.offset == 0 else root / record.confidence,
        )
        for record in read_manifest(path)
        if (wanted is None or record.method in wanted)
        and (max_offset is None or abs(record.offset) <= max_offset)
        and (min_confidence is None or record.offset == 0 or record.confidence_mean >= min_confidence)
    ]
    if not items:
        raise DatasetError(
            f"{root}: no frame passes the filters (methods={sorted(wanted) if wanted else 'any'}, "
            f"max |offset|={max_offset}, min confidence={min_confidence})"
        )
    return items


def group_split(
    items: Sequence[LabeledImage], fraction: float
) -> tuple[list[LabeledImage], list[LabeledImage]]:
    """(train, val): every round(1 / fraction)-th frame held out, in the order given."""
    if not 0 < fraction < 1:
        raise UsageError(f"validation fraction must be in (0, 1), got {fraction}")
    stride = max(2, round(1 / fraction))
    train, val = [], []
    for position, item in enumerate(items):
        (val if position % stride == stride // 2 else train).append(item)
    return train, val


def pair_sources(
    bags: Sequence[Path],
    labels: Sequence[Path],
    topic: str | None,
    *,
    tolerance_ns: int = 0,
    flag: str = "--labels",
) -> list[KeyframeSource]:
    """One KeyframeSource per bag: one label folder shared by all bags, or one per bag in order."""
    if not bags:
        return []
    if topic is None:
        raise UsageError("give --image-topic with --bag")
    if len(labels) not in (1, len(bags)):
        raise UsageError(
            f"give {flag} once (one folder for every bag) or once per bag in the same order; "
            f"got {len(bags)} bag(s) and {len(labels)} label folder(s)"
        )
    folders = list(labels) * len(bags) if len(labels) == 1 else list(labels)
    return [
        KeyframeSource(bag, topic, folder, tolerance_ns) for bag, folder in zip(bags, folders, strict=True)
    ]


@dataclass(frozen=True)
class ManualSources:
    """Human-labeled frames of one role (training or validation): bag keyframes and folder pairs."""

    bags: list[Path]
    labels: list[Path]
    images: list[Path]
    image_labels: list[Path]
    topic: str | None
    tolerance_ns: int = 0  # keyframe label stamps match image stamps within this
    flag: str = "--"  # the command line's prefix for these arguments, for messages


def manual_items(sources: ManualSources, spec: LabelSpec, cache: Path) -> list[LabeledImage]:
    """Keyframes of the bags (decoded once into ``cache``) and the folder pairs."""
    items: list[LabeledImage] = []
    for source in pair_sources(
        sources.bags,
        sources.labels,
        sources.topic,
        tolerance_ns=sources.tolerance_ns,
        flag=f"{sources.flag}labels",
    ):
        items += extract_keyframes(match_source(source, spec), cache, spec)
    for folder, label_folder in zip(sources.images, sources.image_labels, strict=True):
        items += folder_pairs(folder, label_folder)
    return items
