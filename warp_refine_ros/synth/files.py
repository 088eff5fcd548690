"""Write a synthetic drive to disk the way a robot team would have it: a bag plus human-style keyframes.

Layout of ``OUT``::

    drive/ or drive.bag        the camera bag (ROS 2 mcap or sqlite3 directory, or a ROS 1 file)
    keyframes/<stamp_ns>.png   truth labels of every N-th frame, as a labeler would deliver them
    truth/<stamp_ns>.png       truth labels of every frame, for scoring
    classes.yaml               the class spec the ids refer to (Cityscapes' 19, or CamVid's 11)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from warp_refine_ros.bags.writer import COMPRESSED_FORMATS, ENCODINGS, STORAGES, ImageBagWriter, bag_path
from warp_refine_ros.synth.config import DriveConfig, SynthError, SynthFrame
from warp_refine_ros.synth.drive import iter_drive
from warp_refine_ros.synth.specs import spec_table

BAG_NAME = "drive"


@dataclass(frozen=True)
class DriveFiles:
    """What ``write_drive`` wrote, and the stamps that name the label files."""

    root: Path
    bag: Path
    keyframes: Path
    truth: Path
    classes: Path
    topic: str
    label_topic: str | None
    stamps_ns: tuple[int, ...]
    keyframe_stamps_ns: tuple[int, ...]


def write_drive(
    out_dir: str | Path,
    config: DriveConfig,
    *,
    keyframe_every: int = 10,
    storage: str = "mcap",
    topic: str = "/camera/image_raw",
    encoding: str = "rgb8",
    label_topic: str | None = None,
    frame_id: str = "camera",
    label_spec: str = "cityscapes",
    jpeg_quality: int = 95,
    progress: Callable[[SynthFrame], None] | None = None,
) -> DriveFiles:
    """Render ``config`` frame by frame into a bag and label folders under ``out_dir``.

    ``encoding`` is a sensor_msgs/Image encoding (rgb8, bgr8, mono8, bayer_rggb8, ...) or "jpeg"/"png"
    for sensor_msgs/CompressedImage. Frame 0 and every ``keyframe_every``-th frame after it are
    keyframes; with ``label_topic`` their labels are also written into the bag as mono8 images with the
    image's header stamp. ``label_spec`` names the class spec of every label written ("cityscapes" or
    "camvid", see ``specs.py``); ``jpeg_quality`` (1..100) is used with the "jpeg" encoding.
    ``progress`` is called after each frame.
    """
    if keyframe_every < 1:
        raise SynthError(f"keyframe_every={keyframe_every}; need 1 or more frames between keyframes")
    if storage not in STORAGES:
        raise SynthError(f"unknown storage {storage!r}; choose one of {', '.join(STORAGES)}")
    if encoding not in ENCODINGS and encoding not in COMPRESSED_FORMATS:
        raise SynthError(
            f"unknown encoding {encoding!r}; choose one of {', '.join([*ENCODINGS, *COMPRESSED_FORMATS])}"
        )
    if not 1 <= jpeg_quality <= 100:
        raise SynthError(f"jpeg_quality={jpeg_quality}; need 1..100")
    if label_topic is not None and label_topic == topic:
        raise SynthError(f"label topic {label_topic} must differ from the image topic")
    spec, to_spec = spec_table(label_spec)
    root = Path(out_dir)
    keyframes, truth = root / "keyframes", root / "truth"
    for folder in (keyframes, truth):
        if folder.exists() and any(folder.iterdir()):
            raise SynthError(f"{folder} is not empty; write the drive to a new directory")
        folder.mkdir(parents=True, exist_ok=True)
    classes = root / "classes.yaml"
    spec.to_yaml(classes)

    bag = bag_path(root, BAG_NAME, storage)
    stamps, key_stamps = [], []
    with ImageBagWriter(bag, storage=storage) as writer:
        for frame in iter_drive(config):
            if encoding in COMPRESSED_FORMATS:
                writer.write_compressed(
                    topic, frame.stamp_ns, frame.image, fmt=encoding, quality=jpeg_quality, frame_id=frame_id
                )
            else:
                writer.write(topic, frame.stamp_ns, frame.image, encoding=encoding, frame_id=frame_id)
            labels = to_spec[frame.labels]
            _write_png(truth / f"{frame.stamp_ns}.png", labels)
            if frame.index % keyframe_every == 0:
                _write_png(keyframes / f"{frame.stamp_ns}.png", labels)
                key_stamps.append(frame.stamp_ns)
                if label_topic is not None:
                    writer.write(label_topic, frame.stamp_ns, labels, encoding="mono8", frame_id=frame_id)
            stamps.append(frame.stamp_ns)
            if progress is not None:
                progress(frame)
    return DriveFiles(
        root, bag, keyframes, truth, classes, topic, label_topic, tuple(stamps), tuple(key_stamps)
    )


def _write_png(path: Path, labels: np.ndarray) -> None:
    if not cv2.imwrite(str(path), labels):
        raise SynthError(f"cannot write {path}; is the disk full or the folder read-only?")
