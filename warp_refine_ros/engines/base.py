"""The three engine protocols the propagation is written against.

Every backend (OpenCV, PyTorch, ONNX Runtime, TensorRT) takes and returns numpy arrays in these
conventions, so the propagation never knows which one runs:

- images are ``(H, W, 3)`` uint8 RGB;
- a flow ``phi`` is ``(H, W, 2)`` float32 *backward* flow: ``image(x) ~ reference(x + phi(x))``,
  i.e. each pixel of ``image`` says where it is found in ``reference``;
- probabilities are ``(C, H, W)`` float32 over the classes of a :class:`LabelSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from warp_refine_ros.labels import LabelSpec


@dataclass(frozen=True)
class Segmentation:
    """Output of the segmentation engine g for one image."""

    probabilities: np.ndarray  # (C, H, W) float32, softmax over classes
    features: np.ndarray | None  # (D, h, w) float32 features for the refiner, or None


@runtime_checkable
class MotionEngine(Protocol):
    """f: dense motion between two frames."""

    name: str

    def flow(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Backward flow (H, W, 2): where each pixel of ``image`` lies in ``reference``."""
        ...


@runtime_checkable
class SegmentationEngine(Protocol):
    """g: per-pixel class probabilities (and features) from one image."""

    name: str
    spec: LabelSpec

    def segment(self, image: np.ndarray) -> Segmentation: ...


@runtime_checkable
class RefinerEngine(Protocol):
    """Omega: denoises warp-inpainted labels given the image and the segmentation features."""

    name: str
    spec: LabelSpec

    def refine(self, labels: np.ndarray, image: np.ndarray, features: np.ndarray | None) -> np.ndarray:
        """Refined probabilities (C, H, W) from one-hot labels (C, H, W) and the image (H, W, 3)."""
        ...
