"""Textures with mip levels, and the procedural noise every material is built from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Texture:
    """RGB (opaque) or RGBA uint8 image and its halvings (level 0 first), so far surfaces do not alias.

    Halving with area averaging keeps texel centres consistent: texel i of level L covers the same
    part of the surface as texels 2i and 2i + 1 of level L - 1. Transparent texels carry the colour
    of the nearest opaque ones, so interpolating across an outline never darkens it.
    """

    levels: tuple[np.ndarray, ...]

    @classmethod
    def from_rgb(cls, rgb: np.ndarray, alpha: np.ndarray | None = None) -> Texture:
        """Build from an RGB image (float 0..255 or uint8) and an optional coverage mask (0..1)."""
        rgb = np.clip(rgb, 0, 255).astype(np.float32)
        if alpha is None or float(np.min(alpha)) >= 1.0:
            level = np.round(rgb).astype(np.uint8)
        else:
            a = np.clip(alpha.astype(np.float32), 0.0, 1.0)
            level = np.dstack([np.round(_bleed(rgb, a)), np.round(a * 255.0)]).astype(np.uint8)
        levels = [level]
        while min(level.shape[:2]) >= 4:
            level = cv2.resize(
                level, (level.shape[1] // 2, level.shape[0] // 2), interpolation=cv2.INTER_AREA
            )
            levels.append(level)
        return cls(tuple(levels))

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of level 0 in texels."""
        return self.levels[0].shape[1], self.levels[0].shape[0]

    def crop(self, x0: float, y0: float, x1: float, y1: float) -> Texture:
        """The part ``[x0, x1] x [y0, y1]`` (fractions of the size) as views into every level."""
        views = []
        for level in self.levels:
            h, w = level.shape[:2]
            c0, r0 = round(x0 * w), round(y0 * h)
            views.append(level[r0 : max(r0 + 1, round(y1 * h)), c0 : max(c0 + 1, round(x1 * w))])
        return Texture(tuple(views))

    def mirrored(self) -> Texture:
        """Left-right flip (the other side of a car)."""
        return Texture(tuple(np.ascontiguousarray(level[:, ::-1]) for level in self.levels))


def _bleed(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Give transparent texels the colour of the opaque ones next to them, or the mean colour farther out."""
    out = rgb.copy()
    missing = alpha < 0.02
    if not missing.any():
        return out
    weight = cv2.GaussianBlur(alpha, (0, 0), 1.5)
    near = cv2.GaussianBlur(rgb * alpha[..., None], (0, 0), 1.5) / np.maximum(weight, 1e-6)[..., None]
    mean = (rgb * alpha[..., None]).reshape(-1, 3).sum(axis=0) / max(float(alpha.sum()), 1e-6)
    out[missing] = np.where((weight[missing] > 1e-3)[:, None], near[missing], mean)
    return out


def smooth_noise(rng: np.random.Generator, shape: Sequence[int], cell: float) -> np.ndarray:
    """Zero-mean, unit-variance noise (H, W) float32 whose features are about ``cell`` texels wide."""
    h, w = int(shape[0]), int(shape[1])
    gh, gw = max(2, int(np.ceil(h / cell)) + 3), max(2, int(np.ceil(w / cell)) + 3)
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    scale = max(cell, 1.0)
    big = cv2.resize(grid, (int(gw * scale), int(gh * scale)), interpolation=cv2.INTER_CUBIC)
    oy, ox = int(rng.integers(0, max(1, big.shape[0] - h))), int(rng.integers(0, max(1, big.shape[1] - w)))
    out = big[oy : oy + h, ox : ox + w]
    if out.shape != (h, w):
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return (out - out.mean()) / (out.std() + 1e-6)


def fractal(
    rng: np.random.Generator, shape: Sequence[int], cells: Sequence[float], gains: Sequence[float]
) -> np.ndarray:
    """Sum of smooth noises at several feature sizes; the multi-scale detail that optical flow locks on."""
    out = np.zeros((int(shape[0]), int(shape[1])), np.float32)
    for cell, gain in zip(cells, gains, strict=True):
        out += gain * smooth_noise(rng, shape, cell)
    return out


def shade(base: Sequence[float], field: np.ndarray, contrast: float) -> np.ndarray:
    """Colour (H, W, 3) float32: ``base`` modulated by a noise field, brightness only."""
    gain = 1.0 + contrast * field
    return gain[..., None] * np.asarray(base, np.float32)[None, None, :]


def jitter_color(rng: np.random.Generator, base: Sequence[float], spread: float) -> np.ndarray:
    """A colour near ``base``: random brightness and a little hue shift, so objects of a class differ."""
    base = np.asarray(base, np.float32)
    out = base * rng.uniform(1.0 - spread, 1.0 + spread) + rng.normal(0.0, spread * 40.0, size=3)
    return np.clip(out, 0.0, 255.0)
