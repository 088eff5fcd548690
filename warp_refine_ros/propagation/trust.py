"""The trust mask M of eq. 6: where the warped previous image agrees with the current one."""

from __future__ import annotations

import cv2
import numpy as np

from warp_refine_ros.propagation.warp import SamplingMap, warp_image

DEFAULT_TAU = 40.0  # RGB Euclidean distance on 0..255 values; see README "Choosing tau"


def trust_mask(image: np.ndarray, source_image: np.ndarray, sampling: SamplingMap, tau: float) -> np.ndarray:
    """M(x) = 1[ ||I_k(x) - phi(I_prev)(x)||_2 < tau ] and 0 where phi leaves the image; (H, W) bool."""
    warped = warp_image(source_image, sampling)
    diff = cv2.absdiff(image, warped).astype(np.float32)
    distance_sq = cv2.transform(diff * diff, np.ones((1, 3), dtype=np.float32))  # sum over RGB
    return (distance_sq.reshape(sampling.inside.shape) < tau * tau) & sampling.inside
