"""Write a synthetic drive to disk the way a robot team would have it: a bag plus human-style keyframes.

Layout of ``OUT`` (one drive per folder; NAME is ``drive`` unless named)::

    NAME/ or NAME.bag          the camera bag (ROS 2 mcap or sqlite3 directory, or a ROS 1 file)
    keyframes/<stamp_ns>.png   truth labels of every N-th frame, as a labeler would deliver them
    truth/<stamp_ns>.png       truth labels of every frame, for scoring
    classes.yaml               the class spec the ids refer to (Cityscapes' 19, or CamVid's 11)

The drive is rendered into a hidden staging folder in ``OUT`` and moved into place only when whole,
so a full disk or an interrupt leaves nothing a rerun would refuse.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warp_refine_ros.bags.dataset import encode
from warp_refine_ros.bags.writer import COMPRESSED_FORMATS, ENCODINGS, STORAGES, ImageBagWriter, bag_path
from warp_refine_ros.synth.config import DriveConfig, SynthError, SynthFrame
from warp_refine_ros.synth.drive import iter_drive
from warp_refine_ros.synth.specs import spec_table

BAG_NAME = "drive"
LABEL_FOLDERS = ("keyframes", "truth")
CLASSES = "classes.yaml"
_STAGING = re.compile(r"\.synth_drive\.[a-z0-9_]{8}\.partial")
"""The staging folders :func:`write_drive` makes (``tempfile.mkdtemp``'s 8 random characters)."""


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
    name: str = BAG_NAME,
    progress: Callable[[SynthFrame], None] | None = None,
) -> DriveFiles:
    """Render ``config`` frame by frame into a bag named ``name`` and label folders under ``out_dir``.

    ``encoding`` is a sensor_msgs/Image encoding (rgb8, bgr8, mono8, bayer_rggb8, ...) or "jpeg"/"png"
    for sensor_msgs/CompressedImage. Frame 0 and every ``keyframe_every``-th frame after it are
    keyframes; with ``label_topic`` their labels are also written into the bag as mono8 images with the
    image's header stamp. ``label_spec`` names the class spec of every label written ("cityscapes" or
    "camvid", see ``specs.py``); ``jpeg_quality`` (1..100) is used with the "jpeg" encoding.
    ``progress`` is called after each frame. A failure to write (a full disk) is a SynthError.
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
    bag = bag_path(root, _check_name(name), storage)
    _check_empty(root, bag)
    with _staged(root) as staging:
        keyframes, truth = staging / "keyframes", staging / "truth"
        keyframes.mkdir()
        truth.mkdir()
        spec.to_yaml(staging / CLASSES)
        stamps, key_stamps = [], []
        with ImageBagWriter(staging / bag.name, storage=storage) as writer:
            for frame in iter_drive(config):
                if encoding in COMPRESSED_FORMATS:
                    writer.write_compressed(
                        topic,
                        frame.stamp_ns,
                        frame.image,
                        fmt=encoding,
                        quality=jpeg_quality,
                        frame_id=frame_id,
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
        for part in (CLASSES, *LABEL_FOLDERS, bag.name):  # the bag last: a drive is complete once it is there
            (staging / part).rename(root / part)
    return DriveFiles(
        root,
        bag,
        root / "keyframes",
        root / "truth",
        root / CLASSES,
        topic,
        label_topic,
        tuple(stamps),
        tuple(key_stamps),
    )


def _write_png(path: Path, labels: np.ndarray) -> None:
    path.write_bytes(encode(labels, ".png"))


def _check_name(name: str) -> str:
    """The bag's name: a plain file name that is not one of the drive's other parts."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or name in (*LABEL_FOLDERS, CLASSES):
        raise SynthError(
            f"--name {name!r}: give the bag a plain name (no slash, no leading dot, not "
            f"{', '.join((*LABEL_FOLDERS, CLASSES))}), e.g. seed_3"
        )
    return name


def _check_empty(root: Path, bag: Path) -> None:
    """One drive per folder: its bag, labels and class spec are refused a folder that holds any of them."""
    taken = [path.name for path in (bag, root / CLASSES) if path.exists()]
    taken += [f"{name}/" for name in LABEL_FOLDERS if (root / name).is_dir() and any((root / name).iterdir())]
    if taken:
        raise SynthError(
            f"{root} already holds a drive ({', '.join(taken)}); write each drive to its own OUT "
            "(--name NAME names its bag, so that bag_label can take the bags of several drives)"
        )


@contextmanager
def _staged(root: Path) -> Iterator[Path]:
    """A new staging folder in ``root``, removed with whatever is still in it; a staging folder a killed
    run left (our names only) is removed first, and ``root`` too on failure when this run made it."""
    made = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
        for leftover in root.iterdir():
            if _STAGING.fullmatch(leftover.name) and leftover.is_dir():
                shutil.rmtree(leftover)
        staging = Path(tempfile.mkdtemp(prefix=".synth_drive.", suffix=".partial", dir=root))
    except OSError as err:
        raise SynthError(f"cannot write the drive to {root}: {err.strerror or err}") from err
    try:
        yield staging
    except OSError as err:
        raise SynthError(
            f"cannot write the drive to {root}: {err.strerror or err}; nothing of it was kept: free space "
            "(or choose another OUT) and rerun"
        ) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if made and not any(root.iterdir()):
            root.rmdir()
