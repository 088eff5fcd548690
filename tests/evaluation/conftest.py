"""Small output datasets written the way bag_label lays them out, with hand-computable scores.

Truth (10 x 12): road (id 0) in columns 0..5, car (id 1) in 6..11; the spec also has sky (id 5),
which never appears. At signed offset k:
- warp-refine moves the boundary |k| columns right: road IoU 60/(60+10|k|), car (60-10|k|)/60;
- motion-only leaves the |k| right-most columns as ignore: road 1, car (60-10|k|)/60.
Keyframes (k = 0) are exact. Offsets -3..3 are written, plus one frame at +4 with no truth PNG.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from warp_refine_ros.labels import LabelClass, LabelSpec

OFFSETS = (-3, -2, -1, 0, 1, 2, 3)
UNTRUTHED_OFFSET = 4
METHODS = ("motion-only", "warp-refine")


class LabeledOutputs:
    """Writes OUT directories (one per method) and truth directories under one root."""

    topic = "/cam/front"
    camera = "cam_front"
    spec = LabelSpec(
        (
            LabelClass(0, "road", (128, 64, 128)),
            LabelClass(1, "car", (0, 0, 142)),
            LabelClass(5, "sky", (70, 130, 180)),
        )
    )

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def stamp(offset: int) -> int:
        return 1_700_000_000_000_000_000 + (offset + 3) * 100_000_000

    @staticmethod
    def truth_labels() -> np.ndarray:
        labels = np.zeros((10, 12), dtype=np.uint8)
        labels[:, 6:] = 1
        return labels

    @classmethod
    def predicted(cls, method: str, offset: int) -> np.ndarray:
        labels = cls.truth_labels()
        k = abs(offset)
        if k and method == "warp-refine":
            labels[:, 6 : 6 + k] = 0
        elif k and method == "motion-only":
            labels[:, 12 - k :] = 255
        return labels

    @staticmethod
    def write_png(path: Path, labels: np.ndarray) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), labels)

    def label_path(self, out: Path, offset: int) -> Path:
        return out / "labels" / self.camera / f"{self.stamp(offset)}.png"

    def output(self, method: str, name: str | None = None) -> Path:
        """OUT/manifest.jsonl, OUT/classes.yaml and OUT/labels/<camera>/<stamp_ns>.png for one method."""
        out = self.root / (name or method)
        out.mkdir(parents=True)
        self.spec.to_yaml(out / "classes.yaml")
        lines = []
        for offset in (*OFFSETS, UNTRUTHED_OFFSET):
            stamp = self.stamp(offset)
            self.write_png(self.label_path(out, offset), self.predicted(method, offset))
            entry = {
                "bag": "drive.mcap",
                "topic": self.topic,
                "camera": self.camera,
                "stamp_ns": stamp,
                "image": f"images/{self.camera}/{stamp}.png",
                "label": f"labels/{self.camera}/{stamp}.png",
                "confidence": f"confidence/{self.camera}/{stamp}.png",
                "keyframe_stamp_ns": self.stamp(0),
                "offset": offset,
                "method": method,
                "confidence_mean": 0.9,
            }
            lines.append(json.dumps(entry))
        (out / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return out

    def truth(self, *, per_camera: bool, name: str = "truth") -> Path:
        """Truth PNGs for offsets -3..3 (not +4), flat or in a per-camera sub-directory."""
        root = self.root / name
        folder = root / self.camera if per_camera else root
        for offset in OFFSETS:
            self.write_png(folder / f"{self.stamp(offset)}.png", self.truth_labels())
        return root


@pytest.fixture
def labeled(tmp_path: Path) -> LabeledOutputs:
    return LabeledOutputs(tmp_path)


@pytest.fixture(params=[False, True], ids=["flat-truth", "per-camera-truth"])
def layout(request: pytest.FixtureRequest, labeled: LabeledOutputs) -> tuple[list[Path], Path]:
    """One OUT per method and a truth directory in either layout."""
    return [labeled.output(method) for method in METHODS], labeled.truth(per_camera=request.param)
