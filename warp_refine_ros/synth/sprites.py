"""Drawing road-user sprites: a canvas addressed in metres, and the paint palette they share.

Shapes are drawn in metres on a canvas whose texel size is set by ``detail``; every sprite carries its
coverage in alpha, so wheels, legs and bicycle frames let the background through exactly. The sprites
themselves are in ``vehicles.py`` and ``people.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from warp_refine_ros.synth.texture import Texture, fractal

CAR_COLORS = (
    (230, 230, 228),
    (20, 22, 26),
    (150, 152, 156),
    (90, 92, 96),
    (160, 24, 28),
    (24, 48, 120),
    (40, 90, 60),
    (200, 170, 120),
    (100, 20, 30),
    (60, 110, 170),
)


class Canvas:
    """An RGB + alpha drawing surface addressed in metres: x to the right, height h up from the ground."""

    def __init__(self, width_m: float, height_m: float, per_m: float) -> None:
        self.per_m = per_m
        self.w, self.h = _even(width_m * per_m), _even(height_m * per_m)
        self.rgb = np.zeros((self.h, self.w, 3), np.float32)
        self.alpha = np.zeros((self.h, self.w), np.float32)

    def pt(self, x: float, h: float) -> tuple[int, int]:
        """Texel of the point x metres from the left, h metres up."""
        return round(x * self.per_m), round(self.h - 1 - h * self.per_m)

    def poly(
        self, points: Sequence[tuple[float, float]], colour: Sequence[float], cover: bool = True
    ) -> None:
        """Fill a polygon (metres); ``cover`` False paints over what is there without adding coverage."""
        pts = np.array([self.pt(x, h) for x, h in points], np.int32)
        cv2.fillPoly(self.rgb, [pts], tuple(float(c) for c in colour), lineType=cv2.LINE_AA)
        if cover:
            cv2.fillPoly(self.alpha, [pts], 1.0, lineType=cv2.LINE_AA)

    def disc(self, x: float, h: float, r: float, colour: Sequence[float], cover: bool = True) -> None:
        """Fill a circle of radius r around (x, h)."""
        cv2.circle(
            self.rgb,
            self.pt(x, h),
            max(1, int(r * self.per_m)),
            tuple(float(c) for c in colour),
            -1,
            cv2.LINE_AA,
        )
        if cover:
            cv2.circle(self.alpha, self.pt(x, h), max(1, int(r * self.per_m)), 1.0, -1, cv2.LINE_AA)

    def ring(self, x: float, h: float, r: float, width: float, colour: Sequence[float]) -> None:
        """A circle outline ``width`` metres thick (a tyre)."""
        thick = max(1, round(width * self.per_m))
        cv2.circle(
            self.rgb, self.pt(x, h), int(r * self.per_m), tuple(float(c) for c in colour), thick, cv2.LINE_AA
        )
        cv2.circle(self.alpha, self.pt(x, h), int(r * self.per_m), 1.0, thick, cv2.LINE_AA)

    def limb(
        self, a: tuple[float, float], b: tuple[float, float], width: float, colour: Sequence[float]
    ) -> None:
        """A thick line from a to b (an arm, a leg, a bicycle tube)."""
        thick = max(1, round(width * self.per_m))
        cv2.line(self.rgb, self.pt(*a), self.pt(*b), tuple(float(c) for c in colour), thick, cv2.LINE_AA)
        cv2.line(self.alpha, self.pt(*a), self.pt(*b), 1.0, thick, cv2.LINE_AA)

    def texture(self, rng: np.random.Generator, grain: float = 0.08) -> Texture:
        """Finish with fine grain (so flow can lock on flat paint) and build the mip levels."""
        noise = fractal(rng, (self.h, self.w), (1.5, 6.0), (0.6, 0.4))
        # anti-aliased outlines were drawn over black: divide the coverage back out of the colour
        colour = self.rgb / np.maximum(self.alpha, 0.02)[..., None]
        return Texture.from_rgb(colour * (1.0 + grain * noise)[..., None], self.alpha)


def _even(texels: float) -> int:
    return max(8, round(texels / 8.0) * 8)
