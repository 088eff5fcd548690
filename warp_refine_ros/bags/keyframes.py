"""Keyframe labels: where they come from (a directory of PNGs or a label topic) and stamp matching.

A directory holds ``<stamp_ns>.png`` files named by the image's header stamp, with one sub-directory
per camera (``<camera>/<stamp_ns>.png``) when several image topics are labeled. A label topic holds
mono8/mono16 images carrying the image's header stamp.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from warp_refine_ros.errors import DatasetError, LabelError
from warp_refine_ros.labels import read_label_png


def camera_name(topic: str) -> str:
    """``/front/image_raw`` -> ``front_image_raw``: the topic with slashes as underscores, no leading one."""
    return topic.lstrip("/").replace("/", "_")


class KeyframeSet:
    """One camera's keyframe labels by header stamp, loaded on demand."""

    def __init__(self, camera: str, origin: str) -> None:
        self.camera = camera
        self.origin = origin  # where they came from, for messages
        self._files: dict[int, Path] = {}
        self._encoded: dict[int, bytes] = {}  # labels from a topic, kept as PNG bytes (tens of kB each)

    @property
    def stamps(self) -> list[int]:
        return sorted({*self._files, *self._encoded})

    def __len__(self) -> int:
        return len(self._files) + len(self._encoded)

    def add_file(self, stamp_ns: int, path: Path) -> None:
        self._files[stamp_ns] = path

    def add_labels(self, stamp_ns: int, labels: np.ndarray) -> None:
        ok, encoded = cv2.imencode(".png", labels)
        if not ok:
            raise LabelError(f"{self.origin}: cannot encode the label at stamp {stamp_ns}")
        self._encoded[stamp_ns] = encoded.tobytes()

    def name(self, stamp_ns: int) -> str:
        """How to refer to one keyframe in messages: its file, or topic and stamp."""
        path = self._files.get(stamp_ns)
        return str(path) if path is not None else f"{self.origin} @ {stamp_ns}"

    def load(self, stamp_ns: int) -> np.ndarray:
        """The label ids (H, W) uint8 of one keyframe."""
        path = self._files.get(stamp_ns)
        if path is not None:
            return read_label_png(path)
        return cv2.imdecode(np.frombuffer(self._encoded[stamp_ns], np.uint8), cv2.IMREAD_UNCHANGED)


def keyframes_from_directory(root: str | Path, cameras: Iterable[str]) -> dict[str, KeyframeSet]:
    """Each camera's ``<stamp_ns>.png`` files: ``root/<camera>/`` if present, else ``root`` for one camera."""
    root = Path(root)
    cameras = list(cameras)
    if not root.is_dir():
        raise DatasetError(f"keyframe label directory {root} does not exist")
    found = {}
    for camera in cameras:
        folder = root / camera
        if not folder.is_dir():
            if len(cameras) > 1:
                raise DatasetError(
                    f"{root}: with several image topics, keyframe labels go in one sub-directory per camera; "
                    f"{folder} is missing (cameras: {', '.join(cameras)})"
                )
            folder = root
        keyframes = KeyframeSet(camera, str(folder))
        for path in folder.glob("*.png"):
            if not path.stem.isdigit():
                raise DatasetError(
                    f"{path}: keyframe labels must be named <stamp_ns>.png after the image's header stamp"
                )
            keyframes.add_file(int(path.stem), path)
        found[camera] = keyframes
    return found


@dataclass
class StampMatcher:
    """Matches image header stamps to keyframe stamps within a tolerance, each keyframe at most once."""

    stamps: list[int]  # sorted keyframe stamps
    tolerance_ns: int = 0
    matched: dict[int, int] = field(default_factory=dict)  # keyframe stamp -> image stamp
    nearest: dict[int, int] = field(default_factory=dict)  # keyframe stamp -> closest image stamp seen

    def match(self, image_stamp: int) -> int | None:
        """The keyframe stamp this image carries the label of, or None."""
        position = bisect.bisect_left(self.stamps, image_stamp)
        neighbours = self.stamps[max(position - 1, 0) : position + 1]
        for key in neighbours:
            best = self.nearest.get(key)
            if best is None or abs(image_stamp - key) < abs(best - key):
                self.nearest[key] = image_stamp
        candidates = [
            k for k in neighbours if abs(k - image_stamp) <= self.tolerance_ns and k not in self.matched
        ]
        if not candidates:
            return None
        key = min(candidates, key=lambda k: abs(k - image_stamp))
        self.matched[key] = image_stamp
        return key

    def unmatched(self, start_ns: int, end_ns: int) -> list[int]:
        """Keyframe stamps inside [start_ns, end_ns] that no image matched."""
        lo, hi = bisect.bisect_left(self.stamps, start_ns), bisect.bisect_right(self.stamps, end_ns)
        return [k for k in self.stamps[lo:hi] if k not in self.matched]

    def describe_misses(self, limit: int = 5) -> str:
        """Keyframe stamps with the closest image stamp found, for an error message."""
        lines = []
        for key in self.stamps[:limit]:
            near = self.nearest.get(key)
            gap = (
                f"closest image stamp {near} ({(near - key) / 1e6:+.3f} ms)"
                if near is not None
                else "no image"
            )
            lines.append(f"  keyframe {key}: {gap}")
        return "\n".join(lines)
