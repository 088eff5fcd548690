"""What the camera does to the rendered light: lens blur, exposure and white-balance drift, vignetting, noise.

The labels are untouched: they describe the scene, not the sensor.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from warp_refine_ros.synth.config import DriveConfig

NOISE_FRAMES = 4


class Sensor:
    """Turns a rendered frame into a camera image; every effect is seeded and a pure function of time."""

    def __init__(self, config: DriveConfig, rng: np.random.Generator) -> None:
        h, w = config.height, config.width
        self.amplitude = config.illumination
        self.exposure = float(rng.uniform(0.88, 1.1))
        self.balance = rng.uniform(0.96, 1.04, size=3)
        self.phase = rng.uniform(0, 2 * math.pi, size=4)
        self.period = float(rng.uniform(14.0, 30.0))
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((x - w / 2) ** 2 + (y - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
        self.vignette = cv2.merge([1.0 - float(rng.uniform(0.15, 0.3)) * r2] * 3)
        sigma = config.noise_sigma
        self.noise = [
            (rng.standard_normal((h, w, 3)) * sigma).astype(np.float32)
            for _ in range(NOISE_FRAMES if sigma else 0)
        ]
        self.seed = config.seed

    def gains(self, t: float) -> np.ndarray:
        """Per-channel gain at time t: a slow exposure swell plus a slower colour-temperature drift."""
        p, a = self.phase, self.amplitude
        level = 1.0 + a * math.sin(2 * math.pi * t / self.period + p[0]) + 0.3 * a * math.sin(0.9 * t + p[1])
        warm = 0.35 * a * math.sin(2 * math.pi * t / (2.7 * self.period) + p[2])
        return self.exposure * level * self.balance * np.array([1.0 + warm, 1.0, 1.0 - warm])

    def capture(self, image: np.ndarray, t: float, index: int) -> np.ndarray:
        """Camera image (H, W, 3) uint8 from the rendered RGB frame at time t (frame ``index``)."""
        out = cv2.GaussianBlur(image, (3, 3), 0.6).astype(np.float32)
        out = cv2.transform(out, np.diag(self.gains(t)).astype(np.float32))
        out = cv2.multiply(out, self.vignette)
        if self.noise:
            rng = np.random.default_rng([self.seed, 5, index])
            noise = self.noise[int(rng.integers(NOISE_FRAMES))]
            out = cv2.add(out, cv2.flip(noise, int(rng.integers(-1, 2))))  # one of 3 flips, so 12 patterns
        return np.clip(out, 0.0, 255.0, out=out).astype(np.uint8)
