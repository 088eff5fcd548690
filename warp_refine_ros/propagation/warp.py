"""Backward warping along a motion field (eq. 3 and 9 of the paper).

``phi`` is a backward flow: pixel ``x`` of the target frame comes from ``x + phi(x)`` of the source
frame, so warping samples the source there. Probabilities are sampled bilinearly, all classes of a
pixel at once (channels-last), never nearest-neighbour on ids, so sub-pixel motion moves label mass
smoothly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@dataclass(frozen=True)
class SamplingMap:
    """Where each target pixel samples the source: absolute coordinates plus an in-image mask."""

    map_x: np.ndarray  # (H, W) float32
    map_y: np.ndarray  # (H, W) float32
    inside: np.ndarray  # (H, W) bool, False where the motion points outside the source image


@lru_cache(maxsize=8)
def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    xs.setflags(write=False)
    ys.setflags(write=False)
    return xs, ys


def sampling_map(flow: np.ndarray) -> SamplingMap:
    """Turn a backward flow (H, W, 2) into absolute sampling coordinates."""
    height, width = flow.shape[:2]
    xs, ys = _pixel_grid(height, width)
    map_x = xs + flow[..., 0]
    map_y = ys + flow[..., 1]
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return SamplingMap(map_x, map_y, inside)


def warp_probabilities(probs: np.ndarray, sampling: SamplingMap) -> np.ndarray:
    """Lm = phi(L): bilinear backward warp of (H, W, C) probabilities (or one (H, W) map); outside
    the image -> 0. One OpenCV call for all channels (it takes up to 512; a class spec has at most 255)."""
    warped = cv2.remap(
        probs, sampling.map_x, sampling.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    return warped.reshape(probs.shape)  # OpenCV drops a last axis of length 1


def warp_image(image: np.ndarray, sampling: SamplingMap) -> np.ndarray:
    """phi(I): bilinear backward warp of an (H, W, 3) image, used by the trust mask."""
    return cv2.remap(image, sampling.map_x, sampling.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
