"""A review bag of a labeled dataset: images with labels, colour overlays and confidence, for Foxglove/RViz.

For an image topic ``/ns/image_raw`` the bag holds ``/ns/image_raw`` (the image), ``/ns/labels``
(mono8 class ids), ``/ns/labels_color`` (rgb8 overlay) and ``/ns/confidence`` (mono8, 255 = certain),
all with the image's stamp: the live node's topics, so the same displays work for both.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from warp_refine_ros.bags.dataset import ManifestRecord
from warp_refine_ros.bags.writer import ImageBagWriter
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.labels import LabelSpec, overlay


def sibling_topic(image_topic: str, name: str) -> str:
    """``/front/image_raw`` + ``labels`` -> ``/front/labels``."""
    parent = image_topic.rstrip("/").rpartition("/")[0]
    return f"{parent}/{name}"


def write_review_bag(
    root: Path, records: Iterable[ManifestRecord], path: Path, spec: LabelSpec, *, progress: bool = True
) -> int:
    """Write (or replace) an .mcap review bag of the dataset at ``root``; returns the frames written."""
    ordered = sorted(records, key=lambda r: (r.stamp_ns, r.topic))
    path.parent.mkdir(parents=True, exist_ok=True)
    staging_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    staging = staging_dir / path.name  # same name: the storage file inside is named after the bag
    try:
        with ImageBagWriter(staging, storage="mcap") as writer:
            for record in tqdm(ordered, desc=f"review bag {path.name}", unit="frame", disable=not progress):
                _write_frame(writer, root, record, spec)
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        staging.rename(path)
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)
    return len(ordered)


def _write_frame(writer: ImageBagWriter, root: Path, record: ManifestRecord, spec: LabelSpec) -> None:
    image = cv2.cvtColor(_read(root, record.image, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    labels = _read(root, record.label, cv2.IMREAD_UNCHANGED)
    confidence = _read(root, record.confidence, cv2.IMREAD_UNCHANGED)
    stamp, frame = record.stamp_ns, record.camera
    writer.write(record.topic, stamp, image, frame_id=frame)
    writer.write(sibling_topic(record.topic, "labels"), stamp, labels, encoding="mono8", frame_id=frame)
    colored = overlay(image, spec.colorize(labels))
    writer.write(sibling_topic(record.topic, "labels_color"), stamp, colored, frame_id=frame)
    writer.write(
        sibling_topic(record.topic, "confidence"), stamp, confidence, encoding="mono8", frame_id=frame
    )


def _read(root: Path, relative: str, flags: int) -> np.ndarray:
    data = cv2.imread(str(root / relative), flags)
    if data is None:
        raise DatasetError(f"{root / relative}: listed in the manifest but cannot be read")
    return data
