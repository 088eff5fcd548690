"""The three engine protocols the propagation is written against.

Every backend (OpenCV, PyTorch, ONNX Runtime, TensorRT) takes and returns numpy arrays in these
conventions, so the propagation never knows which one runs:

- images are ``(H, W, 3)`` uint8 RGB;
- a flow ``phi`` is ``(H, W, 2)`` float32 *backward* flow: ``image(x) ~ reference(x + phi(x))``,
  i.e. each pixel of ``image`` says where it is found in ``reference``;
- probabilities and one-hot labels are channels-last ``(H, W, C)`` float32 over the classes of a
  :class:`LabelSpec` (networks see ``(1, C, H, W)`` tensors; the backends convert).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from warp_refine_ros.labels import LabelSpec


@dataclass(frozen=True, eq=False)
class Segmentation:
    """Output of the segmentation engine g for one image: probabilities on the network's grid.

    Warp-inpaint needs g only where the warp is not trusted (a few % of the pixels), so the full-size
    map is made only when asked for (:attr:`probabilities`, ``cv2.resize``); :meth:`at` upsamples
    single pixels with the same bilinear rule (pixel centres aligned), on OpenCV's 1/32-pixel grid.
    """

    coarse: np.ndarray  # (h, w, C) float32 softmax over classes on the network's output grid
    size: tuple[int, int]  # (H, W) of the image

    @cached_property
    def probabilities(self) -> np.ndarray:
        """(H, W, C) float32 at the image's size."""
        if self.coarse.shape[:2] == self.size:
            return self.coarse
        height, width = self.size
        resized = cv2.resize(self.coarse, (width, height), interpolation=cv2.INTER_LINEAR)
        return resized.reshape(height, width, self.coarse.shape[2])  # OpenCV drops a last axis of 1

    def at(self, pixels: np.ndarray) -> np.ndarray:
        """(N, C) probabilities of the image's pixels with flat indices ``pixels`` (N,)."""
        height, width = self.size
        (coarse_h, coarse_w), count = self.coarse.shape[:2], len(pixels)
        if count == 0:  # every pixel trusted (a still camera, a repeated frame): OpenCV rejects empty maps
            return np.empty((0, self.coarse.shape[2]), np.float32)
        rows, cols = np.divmod(pixels, width)
        padded = -(-count // _ROW) * _ROW  # OpenCV maps are at most 32767 wide: fold into rows
        map_x, map_y = (np.zeros(padded, np.float32) for _ in range(2))
        map_x[:count] = _centre_aligned(cols, coarse_w / width)
        map_y[:count] = _centre_aligned(rows, coarse_h / height)
        rows_x, rows_y = map_x.reshape(-1, _ROW), map_y.reshape(-1, _ROW)
        samples = cv2.remap(self.coarse, rows_x, rows_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return samples.reshape(padded, -1)[:count]


_ROW = 1024


def _centre_aligned(index: np.ndarray, scale: float) -> np.ndarray:
    """Coarse-grid coordinate of image pixel ``index``: (i + 0.5) * scale - 0.5, as cv2.resize."""
    return ((index + 0.5) * scale - 0.5).astype(np.float32)


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
    """Omega: refined labels from the warped labels, the trust mask, g's probabilities and the image.

    Omega is class-agnostic (networks/refiner.py): it refines labels of whatever class spec g speaks."""

    name: str

    def refine(
        self, channels: np.ndarray, trusted: np.ndarray, segmentation: Segmentation, image: np.ndarray
    ) -> np.ndarray:
        """Refined probabilities (H, W, C) over g's classes from the warped labels' channel indices (H, W)
        uint8 (NO_CLASS: none; the network sees them one-hot), the trust mask (H, W) bool, g's output for
        the image and the image (H, W, 3)."""
        ...
