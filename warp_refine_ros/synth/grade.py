"""The camera's colour processing: white-balance cast, hue rotation, saturation and the tone curve.

At the default settings the colour matrix is exactly the identity and the tone curve is skipped, so
the default look is untouched to the last bit.
"""

from __future__ import annotations

import math

import numpy as np

from warp_refine_ros.synth.config import DriveConfig

LUMA = np.array([0.299, 0.587, 0.114])
"""Rec. 601 luma weights: saturation scales the distance of a colour from this grey."""


def colour_matrix(config: DriveConfig) -> np.ndarray:
    """RGB matrix (3, 3) of the grade: the cast first, then the hue rotation, then the saturation."""
    axis = np.full(3, 1.0 / math.sqrt(3.0))  # the grey axis
    angle = math.radians(config.hue_deg)
    cross = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    # Rodrigues: R = cos a I + (1 - cos a) n n^T + sin a [n]x
    hue = (
        math.cos(angle) * np.eye(3) + (1.0 - math.cos(angle)) * np.outer(axis, axis) + math.sin(angle) * cross
    )
    s = config.saturation
    saturation = s * np.eye(3) + (1.0 - s) * np.outer(np.ones(3), LUMA)
    return saturation @ hue @ np.diag(config.white_balance)


def tone_curve(image: np.ndarray, gamma: float) -> np.ndarray:
    """``255 (image / 255) ^ (1 / gamma)`` on a float32 image in 0..255 (a new array)."""
    return np.power(image * np.float32(1.0 / 255.0), np.float32(1.0 / gamma)) * np.float32(255.0)
