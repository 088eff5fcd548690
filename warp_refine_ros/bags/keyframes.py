"""Keyframe labels: where they come from, a directory of PNGs or a label topic, loaded on demand.

A directory holds ``<stamp_ns>.png`` files named by the image's header stamp, with one sub-directory
per camera (``<camera>/<stamp_ns>.png``) when several image topics are labeled. Beside them (or
instead) a camera's folder may hold a CVAT "Segmentation mask 1.1" export, ``labelmap.txt`` and
``SegmentationClass/<stamp_ns>.png`` in colour, read through the class spec (see bags/cvat.py). A
label topic holds mono8/mono16 images carrying the image's header stamp.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from warp_refine_ros.bags.cvat import LABELMAP, MASKS, MaskDecoder
from warp_refine_ros.errors import DatasetError, LabelError
from warp_refine_ros.labels import LabelSpec, read_label_png

TRANSPORT = "compressed"
"""image_transport's name for sensor_msgs/CompressedImage: ``/front/image_raw/compressed`` carries the
camera ``/front/image_raw``."""


def base_topic(topic: str) -> str:
    """The camera's topic without a transport: ``/front/image_raw/compressed`` -> ``/front/image_raw``."""
    return topic.rstrip("/").removesuffix(f"/{TRANSPORT}")


def camera_name(topic: str) -> str:
    """``/front/image_raw`` (or its ``/compressed`` transport) -> ``front_image_raw``: the camera's topic
    with slashes as underscores, no leading one."""
    return base_topic(topic).lstrip("/").replace("/", "_")


class KeyframeSet:
    """One camera's keyframe labels by header stamp, loaded on demand."""

    def __init__(self, camera: str, origin: str) -> None:
        self.camera = camera
        self.origin = origin  # where they came from, for messages
        self._files: dict[int, Path] = {}
        self._decoders: dict[int, MaskDecoder | _StampsOnly] = {}  # colour masks of a CVAT export
        self._encoded: dict[int, bytes] = {}  # labels from a topic, kept as PNG bytes (tens of kB each)

    @property
    def stamps(self) -> list[int]:
        return sorted({*self._files, *self._encoded})

    def __len__(self) -> int:
        return len(self._files) + len(self._encoded)

    def add_file(self, stamp_ns: int, path: Path, decoder: MaskDecoder | _StampsOnly | None = None) -> None:
        """A label file: an id PNG, or a CVAT colour mask read through ``decoder``."""
        if (other := self._files.get(stamp_ns)) is not None:
            raise DatasetError(f"{other} and {path} both name keyframe stamp {stamp_ns}; keep one of them")
        self._files[stamp_ns] = path
        if decoder is not None:
            self._decoders[stamp_ns] = decoder

    def add_labels(self, stamp_ns: int, labels: np.ndarray) -> None:
        self._encoded[stamp_ns] = _encode(labels, f"{self.origin} @ {stamp_ns}")

    def name(self, stamp_ns: int) -> str:
        """How to refer to one keyframe in messages: its file, or topic and stamp."""
        path = self._files.get(stamp_ns)
        return str(path) if path is not None else f"{self.origin} @ {stamp_ns}"

    def save(self, stamp_ns: int, path: Path) -> None:
        """Write one keyframe's label PNG of ids to ``path`` (a copy of its id PNG, else encoded)."""
        source = self._files.get(stamp_ns)
        if source is not None and stamp_ns not in self._decoders:
            path.write_bytes(source.read_bytes())
        elif source is not None:
            path.write_bytes(_encode(self.load(stamp_ns), self.name(stamp_ns)))
        else:
            path.write_bytes(self._encoded[stamp_ns])

    def load(self, stamp_ns: int) -> np.ndarray:
        """The label ids (H, W) uint8 of one keyframe."""
        path = self._files.get(stamp_ns)
        if (decoder := self._decoders.get(stamp_ns)) is not None:
            return decoder.decode(path)
        if path is not None:
            return read_label_png(path)
        return cv2.imdecode(np.frombuffer(self._encoded[stamp_ns], np.uint8), cv2.IMREAD_UNCHANGED)


def _encode(labels: np.ndarray, name: str) -> bytes:
    ok, encoded = cv2.imencode(".png", labels)
    if not ok:
        raise LabelError(f"{name}: cannot encode the label as PNG")
    return encoded.tobytes()


def keyframes_from_directory(
    root: str | Path, cameras: Iterable[str], spec: LabelSpec | None
) -> dict[str, KeyframeSet]:
    """Each camera's keyframes in ``root/<camera>/`` if present, else ``root`` for one camera: its
    ``<stamp_ns>.png`` id PNGs and the masks of a CVAT export there, mapped to ``spec`` by name. Without
    a spec only the stamps are known: a CVAT mask then cannot be loaded (suggest_keyframes needs none)."""
    root = Path(root)
    cameras = list(cameras)
    if not root.is_dir():
        raise DatasetError(f"keyframe label directory {root} does not exist")
    found = {}
    for camera in cameras:
        folder = root / camera
        if not folder.is_dir():
            if len(cameras) > 1:
                older = root / f"{camera}_{TRANSPORT}"  # the name releases before this one gave it
                raise DatasetError(
                    f"{root}: with several image topics, keyframe labels go in one sub-directory per camera; "
                    f"{folder} is missing (cameras: {', '.join(cameras)})"
                    + (f"; rename {older} to {folder}" if older.is_dir() else "")
                )
            folder = root
        keyframes = KeyframeSet(camera, str(folder))
        for path in sorted(folder.iterdir()):
            stamp = keyframe_stamp(path)
            if stamp is not None:
                keyframes.add_file(stamp, path)
        _add_cvat_export(keyframes, folder, spec)
        found[camera] = keyframes
    return found


def _add_cvat_export(keyframes: KeyframeSet, folder: Path, spec: LabelSpec | None) -> None:
    """The ``SegmentationClass/<stamp_ns>.png`` masks of a CVAT export in ``folder``, if it holds one; also
    in sub-folders, where CVAT keeps the folders of a task's image names (``front/<stamp_ns>.png``)."""
    labelmap, masks = folder / LABELMAP, folder / MASKS
    if not labelmap.is_file():
        if masks.is_dir():
            raise DatasetError(
                f"{masks} holds CVAT masks but {labelmap} is missing; extract the whole "
                "'Segmentation mask 1.1' export (its labelmap.txt names each colour's class)"
            )
        return
    decoder = MaskDecoder(labelmap, spec) if spec is not None else _NO_SPEC
    for path in sorted(masks.rglob("*")) if masks.is_dir() else ():
        stamp = keyframe_stamp(path)
        if stamp is not None:
            keyframes.add_file(stamp, path, decoder)


class _StampsOnly:
    """The decoder of CVAT masks listed without a class spec: their stamps count, their colours are unread."""

    def decode(self, path: Path) -> np.ndarray:
        raise DatasetError(f"{path}: reading a CVAT mask's colours needs the class spec (--classes)")


_NO_SPEC = _StampsOnly()
_STAMP = re.compile(r"[0-9]+")
_OTHER_IMAGES = (".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def keyframe_stamp(path: Path) -> int | None:
    """The header stamp a label file is named after; None for files that are not label images."""
    suffix = path.suffix.lower()
    if suffix in _OTHER_IMAGES:
        raise DatasetError(
            f"{path}: keyframe labels must be lossless PNGs (<stamp_ns>.png); a {suffix} file changes "
            "class ids at edges — export the labels as PNG"
        )
    if suffix != ".png" or not path.is_file():
        return None  # sub-directories of other cameras, notes, class specs
    if not _STAMP.fullmatch(path.stem):
        raise DatasetError(
            f"{path}: keyframe labels must be named <stamp_ns>.png after the image's header stamp in "
            f"nanoseconds (digits only, e.g. 1700000000100000000.png); rename {path.name!r}"
        )
    return int(path.stem)
