"""A review bag of a labeled dataset: images with labels, colour overlays and confidence, for Foxglove/RViz.

For an image topic ``/ns/image_raw`` the bag holds the live node's topics ``/ns/image_raw``, ``/ns/labels``,
``/ns/labels_color`` and ``/ns/confidence``, each as image_transport's ``compressed`` transport: a
sensor_msgs/CompressedImage on ``<topic>/compressed`` with the image's stamp. The camera image and the
overlay are JPEG; labels (class ids) and confidence (255 = certain) are PNG, so they stay exact. RViz's
Image display and image_transport subscribers take the ``compressed`` transport from the topic's last
name; Foxglove reads the ``jpeg`` and ``png`` formats on any topic.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from warp_refine_ros.bags.dataset import ManifestRecord
from warp_refine_ros.bags.writer import ImageBagWriter
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.labels import LabelSpec, overlay
from warp_refine_ros.progress import progress_bar

JPEG_QUALITY = 90
"""JPEG quality of the camera image and the overlay (each about 70 kB for a 640x480 frame)."""
TRANSPORT = "compressed"
_STREAMS = (("", "jpeg"), ("labels", "png"), ("labels_color", "jpeg"), ("confidence", "png"))
"""(sibling name, format) of each review topic; "" is the camera image itself."""


def review_topics(image_topic: str) -> list[str]:
    """The review bag's topics for one camera: ``/front/image_raw`` -> ``/front/image_raw/compressed``,
    ``/front/labels/compressed``, ``/front/labels_color/compressed``, ``/front/confidence/compressed``."""
    base = image_topic.rstrip("/").removesuffix(f"/{TRANSPORT}")  # a camera recorded compressed
    parent = base.rpartition("/")[0]
    return [f"{f'{parent}/{name}' if name else base}/{TRANSPORT}" for name, _ in _STREAMS]


def write_review_bag(
    root: Path,
    records: Iterable[ManifestRecord],
    path: Path,
    spec: LabelSpec,
    *,
    progress: bool = True,
    jpeg_quality: int = JPEG_QUALITY,
) -> int:
    """Write an .mcap review bag of the dataset at ``root`` to the new ``path``; returns the frames written.

    Nothing that exists at ``path`` is ever replaced. The bag appears only once it is complete.
    """
    if path.exists() or path.is_symlink():
        raise DatasetError(
            f"{path} already exists; a review bag is never written over a file or folder. Remove it or "
            "choose another --out-bag"
        )
    ordered = sorted(records, key=lambda r: (r.stamp_ns, r.topic))
    with ImageBagWriter(path, storage="mcap") as writer:
        for record in progress_bar(ordered, desc=f"review bag {path.name}", unit="frame", enabled=progress):
            _write_frame(writer, root, record, spec, jpeg_quality)
    return len(ordered)


def _write_frame(
    writer: ImageBagWriter, root: Path, record: ManifestRecord, spec: LabelSpec, jpeg_quality: int
) -> None:
    image = cv2.cvtColor(_read(root, record.image, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    labels = _read(root, record.label, cv2.IMREAD_UNCHANGED, image.shape[:2])
    confidence = _read(root, record.confidence, cv2.IMREAD_UNCHANGED, image.shape[:2])
    pictures = (image, labels, overlay(image, spec.colorize(labels)), confidence)
    for topic, picture, (_, fmt) in zip(review_topics(record.topic), pictures, _STREAMS, strict=True):
        writer.write_compressed(
            topic, record.stamp_ns, picture, fmt=fmt, quality=jpeg_quality, frame_id=record.camera
        )


def _read(root: Path, relative: str, flags: int, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A dataset file as pixels; a one-channel 8-bit image of ``shape`` when ``shape`` is given."""
    data = cv2.imread(str(root / relative), flags)
    if data is None:
        raise DatasetError(f"{root / relative}: listed in the manifest but cannot be read")
    if shape is not None and (data.shape != shape or data.dtype != np.uint8):
        raise DatasetError(
            f"{root / relative}: expected a one-channel 8-bit {shape[1]}x{shape[0]} PNG like the frame's "
            f"image, found {data.dtype} of shape {data.shape}; rerun bag_label into a new --out"
        )
    return data
