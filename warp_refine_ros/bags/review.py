"""A review bag of a labeled dataset: images with labels, colour overlays and confidence, for Foxglove/RViz.

For an image topic ``/ns/image_raw`` the bag holds the live node's topics ``/ns/image_raw``, ``/ns/labels``,
``/ns/labels_color`` and ``/ns/confidence``, each as image_transport's ``compressed`` transport: a
sensor_msgs/CompressedImage on ``<topic>/compressed`` with the image's stamp. When several cameras of the
dataset share a namespace (``/cam_front``, ``/cam_rear``), siblings would mix them, so each camera's
review topics go under its own topic instead: ``/cam_front/labels/compressed``, ... The camera image and
the overlay are JPEG; labels (class ids) and confidence (255 = certain) are PNG, so they stay exact.
RViz's Image display and image_transport subscribers take the ``compressed`` transport from the topic's
last name; Foxglove reads the ``jpeg`` and ``png`` formats on any topic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from warp_refine_ros.bags.dataset import ManifestRecord
from warp_refine_ros.bags.keyframes import TRANSPORT, base_topic
from warp_refine_ros.bags.writer import ImageBagWriter
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.labels import LabelSpec, overlay
from warp_refine_ros.progress import progress_bar

JPEG_QUALITY = 90
"""JPEG quality of the camera image and the overlay (each about 70 kB for a 640x480 frame)."""
_STREAMS = (("", "jpeg"), ("labels", "png"), ("labels_color", "jpeg"), ("confidence", "png"))
"""(sibling name, format) of each review topic; "" is the camera image itself."""


def review_topics(image_topic: str, shared_namespace: bool = False) -> list[str]:
    """The review bag's topics for one camera: ``/front/image_raw`` -> ``/front/image_raw/compressed``,
    ``/front/labels/compressed``, ``/front/labels_color/compressed``, ``/front/confidence/compressed``;
    with ``shared_namespace`` (another camera lives beside it) under the camera's own topic:
    ``/front/image_raw/labels/compressed``, ..."""
    base = base_topic(image_topic)  # a camera recorded compressed is the same camera
    parent = base if shared_namespace else base.rpartition("/")[0]
    return [f"{f'{parent}/{name}' if name else base}/{TRANSPORT}" for name, _ in _STREAMS]


def review_topic_map(image_topics: Iterable[str]) -> dict[str, list[str]]:
    """Each image topic's review topics: siblings of the camera's topic, or children of it for cameras
    that share a namespace with another, so no two cameras ever write to one topic."""
    topics = set(image_topics)
    namespaces = Counter(base_topic(topic).rpartition("/")[0] for topic in {base_topic(t) for t in topics})
    return {
        topic: review_topics(topic, namespaces[base_topic(topic).rpartition("/")[0]] > 1) for topic in topics
    }


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
    topics = review_topic_map(r.topic for r in ordered)
    with ImageBagWriter(path, storage="mcap") as writer:
        for record in progress_bar(ordered, desc=f"review bag {path.name}", unit="frame", enabled=progress):
            _write_frame(writer, root, record, topics[record.topic], spec, jpeg_quality)
    return len(ordered)


def _write_frame(
    writer: ImageBagWriter,
    root: Path,
    record: ManifestRecord,
    topics: list[str],
    spec: LabelSpec,
    jpeg_quality: int,
) -> None:
    image = cv2.cvtColor(_read(root, record.image, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    labels = _read(root, record.label, cv2.IMREAD_UNCHANGED, image.shape[:2])
    confidence = _read(root, record.confidence, cv2.IMREAD_UNCHANGED, image.shape[:2])
    pictures = (image, labels, overlay(image, spec.colorize(labels)), confidence)
    for topic, picture, (_, fmt) in zip(topics, pictures, _STREAMS, strict=True):
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
