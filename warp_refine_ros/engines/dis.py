"""OpenCV DIS optical flow: the CPU default motion engine (no weights, runs anywhere)."""

from __future__ import annotations

import threading

import cv2
import numpy as np

PRESETS = {
    "ultrafast": (cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, {}),
    "fast": (cv2.DISOPTICAL_FLOW_PRESET_FAST, {}),
    "medium": (cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, {}),
    # medium down to full resolution, denser patches, more descent: about 7x medium's time, and 3-4
    # mIoU points more for motion-only on the two tuning drive families (bench/drive_families.py)
    "fine": (
        cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        {"FinestScale": 0, "PatchStride": 2, "GradientDescentIterations": 50},
    ),
}
"""OpenCV's presets, and ``fine``: (base preset, settings changed on it)."""
DEFAULT_PRESET = "medium"
"""Chosen on the tuning drive families (bench/drive_families.py --sweep) over ultrafast and fast, and
better than fast for every method on every held-out family; about 4x fast's time (README, Performance)."""
MIN_SHORT_SIDE, MIN_LONG_SIDE = 8, 12  # OpenCV's DIS refuses smaller images (its patch is 8 pixels)


def too_small(height: int, width: int) -> str | None:
    """Why an image of this size cannot be labeled, or None: DIS flow is the smallest-image limit."""
    if min(height, width) < MIN_SHORT_SIDE or max(height, width) < MIN_LONG_SIDE:
        return (
            f"images of {width}x{height} are too small to label: optical flow needs at least "
            f"{MIN_SHORT_SIDE} pixels on the short side and {MIN_LONG_SIDE} on the long side"
        )
    return None


class DisMotion:
    """Dense Inverse Search flow on grey images; one OpenCV instance per thread (it is stateful)."""

    def __init__(self, preset: str = DEFAULT_PRESET) -> None:
        if preset not in PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}; choose one of {sorted(PRESETS)}")
        self.preset = preset
        self.name = f"dis:{preset}"
        self._local = threading.local()

    def _dis(self) -> cv2.DISOpticalFlow:
        dis = getattr(self._local, "dis", None)
        if dis is None:
            base, changes = PRESETS[self.preset]
            dis = self._local.dis = cv2.DISOpticalFlow_create(base)
            for name, value in changes.items():
                getattr(dis, f"set{name}")(value)
        return dis

    def flow(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Backward flow (H, W, 2) float32: ``image(x) ~ reference(x + flow(x))``."""
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        grey_ref = cv2.cvtColor(reference, cv2.COLOR_RGB2GRAY)
        return self._dis().calc(grey, grey_ref, None)
