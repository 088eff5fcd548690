"""What the camera does to the rendered light: lens blur and defocus, exposure, white-balance drift and
colour grade, vignetting, sensor noise and the tone curve.

The labels are untouched: they describe the scene, not the sensor.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from warp_refine_ros.synth.config import DriveConfig
from warp_refine_ros.synth.grade import colour_matrix, tone_curve

NOISE_FRAMES = 4
CHROMA_CELL = 8
"""Size of the colour-noise blotches, in pixels."""


def disk_kernel(radius: float) -> np.ndarray:
    """Normalised out-of-focus disk of ``radius`` pixels, with an anti-aliased rim."""
    half = math.ceil(radius)
    y, x = np.mgrid[-half : half + 1, -half : half + 1]
    disk = np.clip(radius + 0.5 - np.hypot(x, y), 0.0, 1.0).astype(np.float32)
    return disk / disk.sum()


class Sensor:
    """Turns a rendered frame into a camera image; every effect is seeded and a pure function of time."""

    def __init__(self, config: DriveConfig, rng: np.random.Generator) -> None:
        h, w = config.height, config.width
        self.amplitude = config.illumination
        self.exposure = float(rng.uniform(0.88, 1.1)) * config.exposure
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
        self.config = config
        self.grade = colour_matrix(config)
        self.defocus = disk_kernel(config.defocus_px) if config.defocus_px > 0 else None

    def gains(self, t: float) -> np.ndarray:
        """Per-channel gain at time t: a slow exposure swell plus a slower colour-temperature drift."""
        p, a = self.phase, self.amplitude
        level = 1.0 + a * math.sin(2 * math.pi * t / self.period + p[0]) + 0.3 * a * math.sin(0.9 * t + p[1])
        warm = 0.35 * a * math.sin(2 * math.pi * t / (2.7 * self.period) + p[2])
        return self.exposure * level * self.balance * np.array([1.0 + warm, 1.0, 1.0 - warm])

    def capture(self, image: np.ndarray, t: float, index: int) -> np.ndarray:
        """Camera image (H, W, 3) uint8 from the rendered RGB frame (uint8 or float32) at time t."""
        out = cv2.GaussianBlur(image, (3, 3), 0.6).astype(np.float32)
        if self.defocus is not None:
            out = cv2.filter2D(out, -1, self.defocus, borderType=cv2.BORDER_REFLECT)
        out = cv2.transform(out, (self.grade @ np.diag(self.gains(t))).astype(np.float32))
        out = cv2.multiply(out, self.vignette)
        if self.noise:
            rng = np.random.default_rng([self.seed, 5, index])
            noise = self.noise[int(rng.integers(NOISE_FRAMES))]
            out = cv2.add(out, cv2.flip(noise, int(rng.integers(-1, 2))))  # one of 3 flips, so 12 patterns
        if self.config.chroma_noise > 0:
            out += self._chroma_noise(index)
        if self.config.row_noise > 0:
            out += self._row_noise(index)
        np.clip(out, 0.0, 255.0, out=out)
        if self.config.gamma != 1.0:
            out = tone_curve(out, self.config.gamma)
        return out.astype(np.uint8)

    def _chroma_noise(self, index: int) -> np.ndarray:
        """Colour blotches of frame ``index``: coarse noise, smoothly enlarged, luminance left alone."""
        h, w = self.config.height, self.config.width
        rng = np.random.default_rng([self.seed, 9, index])
        coarse = rng.standard_normal((-(-h // CHROMA_CELL) + 1, -(-w // CHROMA_CELL) + 1, 3))
        coarse = (coarse - coarse.mean(axis=2, keepdims=True)) * self.config.chroma_noise
        return cv2.resize(coarse.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)

    def _row_noise(self, index: int) -> np.ndarray:
        """Read-out offset of every row of frame ``index``, (H, 1, 1): horizontal banding."""
        rng = np.random.default_rng([self.seed, 10, index])
        return (rng.standard_normal((self.config.height, 1, 1)) * self.config.row_noise).astype(np.float32)
