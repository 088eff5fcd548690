"""Fast per-pixel operations on (C, H, W) probability maps: blend, argmax, one-hot.

numpy's ``argmax(axis=0)`` and masked ``where`` walk a 19x480x640 map in strides and cost tens of
milliseconds; these versions work one contiguous plane at a time with OpenCV and cost a few.
"""

from __future__ import annotations

import cv2
import numpy as np

NO_CLASS = 255  # channel index of a pixel with no probability mass (written as the ignore id)


def inpaint(warped: np.ndarray, semantic: np.ndarray, trust: np.ndarray) -> np.ndarray:
    """LW = M * Lm + (1 - M) * Ls (eq. 5), in place on ``warped``; ``trust`` is the (H, W) bool M."""
    untrusted = (~trust).view(np.uint8)
    for channel, source in zip(warped, semantic, strict=True):
        cv2.copyTo(source, untrusted, channel)
    return warped


def argmax_confidence(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best channel (H, W) uint8 (NO_CLASS where all zero) and its probability (H, W) float32."""
    best = probs.max(axis=0)
    channels = np.zeros(best.shape, dtype=np.uint8)
    for index, plane in enumerate(probs):
        is_best = cv2.compare(plane, best, cv2.CMP_EQ)  # 255 where this class holds the max
        cv2.max(channels, cv2.bitwise_and(is_best, index), dst=channels)
    channels[best <= 0] = NO_CLASS
    return channels, best


def one_hot_channels(channels: np.ndarray, num_classes: int) -> np.ndarray:
    """Channel indices (H, W) -> one-hot (C, H, W) float32; NO_CLASS -> all zeros."""
    return (channels[None] == np.arange(num_classes, dtype=np.uint8)[:, None, None]).astype(np.float32)


def confidence_to_uint8(confidence: np.ndarray) -> np.ndarray:
    """Probability in [0, 1] -> uint8 with 255 = certain, as written to confidence PNGs."""
    return np.clip(confidence * 255.0 + 0.5, 0, 255).astype(np.uint8)


def mask_uncertain(probs: np.ndarray, threshold: float) -> np.ndarray:
    """Zero every pixel whose top probability is below ``threshold`` (-> ignore), as a new array."""
    keep = probs.max(axis=0) >= threshold
    return probs * keep[None]
