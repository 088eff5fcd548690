"""Per-pixel operations on channels-last probability maps (H, W, C): inpaint, argmax, masking.

Channels-last keeps each pixel's C probabilities together, so OpenCV warps all classes of a map in
one call (a third of the time of warping C planes one by one) and inpainting a pixel copies one row.
"""

from __future__ import annotations

import cv2
import numpy as np

NO_CLASS = 255  # channel index of a pixel with no probability mass (written as the ignore id)


def pixels_of(mask: np.ndarray) -> np.ndarray:
    """Flat indices (N,) of the True pixels of an (H, W) mask, as :func:`inpaint` takes them."""
    return np.flatnonzero(mask.ravel())


def inpaint(warped: np.ndarray, pixels: np.ndarray, semantic: np.ndarray) -> np.ndarray:
    """LW = M * Lm + (1 - M) * Ls (eq. 5), in place on ``warped`` (H, W, C): the untrusted ``pixels``
    (flat indices, where M = 0) take their rows of ``semantic`` (N, C), every other pixel keeps Lm."""
    warped.reshape(-1, warped.shape[-1])[pixels] = semantic
    return warped


def argmax_confidence(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best channel (H, W) uint8 (NO_CLASS where all zero) and its probability (H, W) float32.

    numpy's arg-max over a last axis of 19 pays a call per pixel; one blocked transpose to a plane
    a class and a few whole-plane OpenCV operations per class cost half as much.
    """
    shape = probs.shape[:-1]
    planes = cv2.transpose(probs.reshape(-1, probs.shape[-1])).reshape(-1, *shape)  # (C, H, W)
    best = planes.max(axis=0)
    channels = np.zeros(shape, dtype=np.uint8)
    for index, plane in enumerate(planes):
        is_best = cv2.compare(plane, best, cv2.CMP_EQ)  # 255 where this class holds the max
        cv2.max(channels, cv2.bitwise_and(is_best, index), dst=channels)
    channels[best <= 0] = NO_CLASS
    return channels, best


def confidence_to_uint8(confidence: np.ndarray) -> np.ndarray:
    """Probability in [0, 1] -> uint8 with 255 = certain, as written to confidence PNGs."""
    return np.clip(confidence * 255.0 + 0.5, 0, 255).astype(np.uint8)


def mask_uncertain(probs: np.ndarray, threshold: float) -> np.ndarray:
    """Zero every pixel whose top probability is below ``threshold`` (-> ignore), as a new array."""
    _, best = argmax_confidence(probs)
    return probs * (best >= threshold)[..., None]
