"""Procedural textures of road users: vehicles (three faces each), walking people, cyclists.

Shapes are drawn in metres on a canvas whose texel size is set by ``detail``; every sprite carries its
coverage in alpha, so wheels, legs and bicycle frames let the background through exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from warp_refine_ros.synth.classes import Class
from warp_refine_ros.synth.texture import Texture, fractal, jitter_color, smooth_noise

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
SKIN = ((236, 200, 170), (206, 160, 120), (160, 110, 76), (100, 66, 44))
CLOTHES = (
    (30, 30, 36),
    (200, 200, 196),
    (150, 30, 40),
    (40, 60, 130),
    (70, 100, 60),
    (180, 150, 90),
    (110, 110, 116),
    (220, 120, 40),
    (90, 50, 100),
    (40, 120, 150),
)
TROUSERS = ((40, 50, 80), (30, 30, 34), (120, 110, 90), (70, 70, 76), (60, 80, 120))
GLASS = np.array([40, 48, 58], np.float32)


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


# --- vehicles ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VehicleLook:
    """Box dimensions (m) and face textures; ``side`` shows the vehicle's right side, front to the right."""

    kind: Class
    length: float
    width: float
    height: float
    side: Texture
    side_mirrored: Texture
    front: Texture
    rear: Texture


def vehicle(rng: np.random.Generator, detail: float, kind: Class = Class.CAR) -> VehicleLook:
    """A car, bus or truck of random size and paint: side, front and rear textures."""
    paint = jitter_color(rng, CAR_COLORS[rng.integers(len(CAR_COLORS))], 0.08)
    if kind == Class.BUS:
        size = (rng.uniform(10.5, 12.0), 2.5, rng.uniform(2.9, 3.2))
        paint = jitter_color(
            rng, ((220, 200, 40), (200, 40, 40), (230, 230, 230), (40, 110, 170))[rng.integers(4)], 0.08
        )
    elif kind == Class.TRUCK:
        size = (rng.uniform(6.0, 8.0), 2.4, rng.uniform(2.9, 3.5))
    else:
        size = (rng.uniform(3.9, 4.8), rng.uniform(1.7, 1.9), rng.uniform(1.4, 1.6))
    length, width, height = (float(v) for v in size)
    per_m = 56.0 * detail
    side = _vehicle_side(rng, kind, length, height, paint, per_m)
    front = _vehicle_end(rng, kind, width, height, paint, per_m, front=True)
    rear = _vehicle_end(rng, kind, width, height, paint, per_m, front=False)
    return VehicleLook(kind, length, width, height, side, side.mirrored(), front, rear)


def _body_shading(canvas: Canvas, rng: np.random.Generator) -> None:
    """Soft vertical light falloff and a highlight line along the body."""
    rows = np.linspace(1.15, 0.75, canvas.h, dtype=np.float32)
    canvas.rgb *= rows[:, None, None]
    canvas.rgb *= (1.0 + 0.05 * smooth_noise(rng, (canvas.h, canvas.w), canvas.w / 6.0))[..., None]


def _wheel(canvas: Canvas, x: float, r: float) -> None:
    canvas.disc(x, r, r, (22, 22, 24))
    canvas.disc(x, r, r * 0.58, (150, 150, 154))
    canvas.disc(x, r, r * 0.18, (60, 60, 62))


def _vehicle_side(
    rng: np.random.Generator, kind: Class, length: float, height: float, paint: np.ndarray, per_m: float
) -> Texture:
    c = Canvas(length, height, per_m)
    r = 0.33 if kind == Class.CAR else 0.5
    clear = 0.18 if kind == Class.CAR else 0.35
    light = (0.85, 0.85, 0.8)
    if kind == Class.CAR:
        belt = height * rng.uniform(0.52, 0.6)
        c.poly(
            [
                (0.05, clear),
                (length - 0.05, clear),
                (length, belt * 0.55),
                (length - 0.1, belt),
                (0.05, belt),
                (0.0, belt * 0.55),
            ],
            paint,
        )
        back = rng.uniform(0.05, 0.2) * length
        c.poly([(back, belt), (0.28 * length, height), (0.66 * length, height), (0.8 * length, belt)], paint)
        inset = 0.06
        c.poly(
            [
                (back + 0.18, belt + inset),
                (0.3 * length, height - inset),
                (0.64 * length, height - inset),
                (0.77 * length - 0.05, belt + inset),
            ],
            GLASS * rng.uniform(0.8, 1.4),
            cover=False,
        )
        c.poly(
            [(0.47 * length, belt), (0.5 * length, belt), (0.5 * length, height), (0.47 * length, height)],
            paint * 0.5,
            cover=False,
        )
        c.poly(
            [(0.0, belt * 0.6), (0.12, belt * 0.6), (0.12, belt * 0.85), (0.02, belt * 0.85)],
            (170, 20, 20),
            False,
        )
        c.poly(
            [
                (length - 0.15, belt * 0.62),
                (length, belt * 0.62),
                (length - 0.05, belt * 0.85),
                (length - 0.15, belt * 0.85),
            ],
            np.array(light) * 255,
            False,
        )
        wheels = (0.19 * length, 0.8 * length)
    elif kind == Class.BUS:
        c.poly([(0.0, clear), (length, clear), (length, height), (0.0, height)], paint)
        c.poly(
            [
                (0.3, height * 0.45),
                (length - 0.3, height * 0.45),
                (length - 0.3, height * 0.9),
                (0.3, height * 0.9),
            ],
            GLASS,
            cover=False,
        )
        for x in np.arange(1.2, length - 0.5, rng.uniform(1.1, 1.6)):
            c.limb((x, height * 0.45), (x, height * 0.9), 0.08, paint * 0.6)
        door = length * 0.82
        c.poly(
            [
                (door, clear + 0.1),
                (door + 1.1, clear + 0.1),
                (door + 1.1, height * 0.9),
                (door, height * 0.9),
            ],
            GLASS * 1.2,
            cover=False,
        )
        wheels = (0.2 * length, 0.82 * length)
    else:
        box = 0.72 * length
        c.poly([(0.0, clear), (box, clear), (box, height), (0.0, height)], paint)
        cab = jitter_color(rng, CAR_COLORS[rng.integers(len(CAR_COLORS))], 0.08)
        c.poly(
            [
                (box + 0.1, clear),
                (length, clear),
                (length, height * 0.55),
                (length - 0.3, height * 0.8),
                (box + 0.1, height * 0.8),
            ],
            cab,
        )
        c.poly(
            [
                (box + 0.4, height * 0.52),
                (length - 0.35, height * 0.52),
                (length - 0.35, height * 0.75),
                (box + 0.4, height * 0.75),
            ],
            GLASS,
            cover=False,
        )
        wheels = (0.15 * length, 0.45 * length, 0.88 * length)
    _body_shading(c, rng)
    for x in wheels:
        _wheel(c, x, r)
    return c.texture(rng, 0.05)


def _vehicle_end(
    rng: np.random.Generator,
    kind: Class,
    width: float,
    height: float,
    paint: np.ndarray,
    per_m: float,
    front: bool,
) -> Texture:
    c = Canvas(width, height, per_m)
    clear = 0.18 if kind == Class.CAR else 0.35
    lamp = (235, 235, 220) if front else (190, 20, 24)
    if kind == Class.CAR:
        belt = height * 0.58
        c.poly([(0.02, clear), (width - 0.02, clear), (width, belt), (0.0, belt)], paint)
        c.poly([(0.08, belt), (0.22, height), (width - 0.22, height), (width - 0.08, belt)], paint)
        c.poly(
            [
                (0.16, belt + 0.04),
                (0.26, height - 0.05),
                (width - 0.26, height - 0.05),
                (width - 0.16, belt + 0.04),
            ],
            GLASS * rng.uniform(0.8, 1.4),
            cover=False,
        )
        glass_top = belt
    else:
        c.poly([(0.0, clear), (width, clear), (width, height), (0.0, height)], paint)
        glass_top = height * 0.45
        if front or kind == Class.BUS:
            c.poly(
                [
                    (0.12, glass_top),
                    (width - 0.12, glass_top),
                    (width - 0.12, height * 0.92),
                    (0.12, height * 0.92),
                ],
                GLASS,
                cover=False,
            )
        else:
            c.limb((width / 2, clear + 0.1), (width / 2, height - 0.1), 0.04, paint * 0.5)
    y = clear + 0.25
    for x in (0.08, width - 0.38):
        c.poly([(x, y), (x + 0.3, y), (x + 0.3, y + 0.13), (x, y + 0.13)], lamp, cover=False)
    c.poly(
        [
            (width / 2 - 0.26, clear + 0.08),
            (width / 2 + 0.26, clear + 0.08),
            (width / 2 + 0.26, clear + 0.2),
            (width / 2 - 0.26, clear + 0.2),
        ],
        (225, 225, 215),
        cover=False,
    )
    if front:
        c.poly(
            [(0.45, y), (width - 0.45, y), (width - 0.45, y + 0.15), (0.45, y + 0.15)], (30, 30, 32), False
        )
    c.poly([(0.0, clear), (width, clear), (width, clear + 0.08), (0.0, clear + 0.08)], (35, 35, 38), False)
    for x in (0.12, width - 0.12):  # tyres below the body
        c.poly(
            [(x - 0.11, 0.0), (x + 0.11, 0.0), (x + 0.11, clear + 0.02), (x - 0.11, clear + 0.02)],
            (22, 22, 24),
        )
    _body_shading(c, rng)
    return c.texture(rng, 0.05)


# --- people --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonLook:
    """A walker's appearance in ``PHASES`` poses of the walking cycle; ``height`` in metres."""

    height: float
    width: float
    poses: tuple[Texture, ...]


PHASES = 6


def _figure(
    c: Canvas, x: float, height: float, swing: float, colours: dict[str, np.ndarray], legs: bool = True
) -> None:
    """A walking figure standing on h = 0 at x; ``swing`` in [-1, 1] moves legs and arms in opposition."""
    s = height / 1.75
    hip, shoulder, head = 0.92 * s, 1.42 * s, 1.62 * s
    step = 0.22 * s * swing
    if legs:
        for sign in (1.0, -1.0):
            foot = (x + sign * step, 0.05 * s)
            knee = (x + sign * step * 0.5 + 0.03 * s * abs(swing), 0.48 * s)
            c.limb((x + sign * 0.05 * s, hip), knee, 0.13 * s, colours["trousers"])
            c.limb(knee, foot, 0.11 * s, colours["trousers"])
            c.limb(foot, (foot[0] + 0.06 * s, 0.03 * s), 0.08 * s, colours["shoes"])
    c.poly(
        [
            (x - 0.2 * s, shoulder),
            (x + 0.2 * s, shoulder),
            (x + 0.16 * s, hip - 0.05 * s),
            (x - 0.16 * s, hip - 0.05 * s),
        ],
        colours["top"],
    )
    for sign in (1.0, -1.0):
        hand = (x + sign * 0.22 * s - sign * 0.12 * s * swing, hip - 0.05 * s)
        c.limb((x + sign * 0.2 * s, shoulder - 0.04 * s), hand, 0.09 * s, colours["top"] * 0.9)
        c.disc(*hand, 0.045 * s, colours["skin"])
    c.limb((x, shoulder), (x, head - 0.08 * s), 0.07 * s, colours["skin"])
    c.disc(x, head, 0.11 * s, colours["skin"])
    c.poly(
        [
            (x - 0.11 * s, head),
            (x - 0.1 * s, head + 0.09 * s),
            (x + 0.1 * s, head + 0.09 * s),
            (x + 0.11 * s, head),
        ],
        colours["hair"],
    )


def _outfit(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "skin": jitter_color(rng, SKIN[rng.integers(len(SKIN))], 0.05),
        "hair": jitter_color(
            rng, ((30, 24, 20), (90, 60, 30), (200, 170, 110), (140, 140, 140))[rng.integers(4)], 0.1
        ),
        "top": jitter_color(rng, CLOTHES[rng.integers(len(CLOTHES))], 0.12),
        "trousers": jitter_color(rng, TROUSERS[rng.integers(len(TROUSERS))], 0.12),
        "shoes": jitter_color(rng, ((30, 30, 30), (220, 220, 220), (90, 60, 40))[rng.integers(3)], 0.1),
    }


def person(rng: np.random.Generator, detail: float) -> PersonLook:
    """A pedestrian of random height and outfit in every pose of the walking cycle."""
    height = float(rng.uniform(1.55, 1.92))
    width = 0.36 * height
    colours = _outfit(rng)
    bag = rng.random() < 0.3
    poses = []
    for k in range(PHASES):
        c = Canvas(width, height, 110.0 * detail)
        _figure(c, width / 2, height, float(np.sin(2 * np.pi * k / PHASES)), colours)
        if bag:
            c.poly(
                [
                    (width * 0.62, 0.9 * height * 0.6),
                    (width * 0.95, 0.9 * height * 0.6),
                    (width * 0.95, 0.9 * height * 0.35),
                    (width * 0.62, 0.9 * height * 0.35),
                ],
                colours["shoes"] * 0.7,
            )
        poses.append(c.texture(rng))
    return PersonLook(height, width, tuple(poses))


@dataclass(frozen=True)
class CyclistLook:
    """A rider on a bicycle: side and rear views, each split into the bicycle part and the rider part."""

    length: float
    width: float
    height: float
    side_bicycle: Texture
    side_rider: Texture
    rear_bicycle: Texture
    rear_rider: Texture
    other_bicycle: Texture
    """The side views seen from the cyclist's left (mirrored)."""
    other_rider: Texture


def cyclist(rng: np.random.Generator, detail: float) -> CyclistLook:
    """A cyclist of random outfit on a bicycle of random colour."""
    length, width, height = 1.8, 0.6, 1.8
    per_m = 90.0 * detail
    frame = jitter_color(rng, CAR_COLORS[rng.integers(len(CAR_COLORS))], 0.1)
    colours = _outfit(rng)
    helmet = jitter_color(rng, CLOTHES[rng.integers(len(CLOTHES))], 0.1)

    bike = Canvas(length, height, per_m)
    rear_hub, front_hub, r = (0.38, 0.35), (1.42, 0.35), 0.34
    crank, seat, bars = (0.82, 0.33), (0.72, 0.95), (1.3, 1.05)
    for hub in (rear_hub, front_hub):
        bike.ring(*hub, r, 0.05, (25, 25, 25))
        bike.ring(*hub, 0.05, 0.03, (150, 150, 150))
    for a, b in (
        (rear_hub, crank),
        (rear_hub, seat),
        (crank, seat),
        (crank, (1.22, 0.88)),
        (seat, (1.22, 0.88)),
        ((1.22, 0.88), front_hub),
        ((1.22, 0.88), bars),
    ):
        bike.limb(a, b, 0.035, frame)
    bike.limb((seat[0] - 0.1, seat[1] + 0.03), (seat[0] + 0.08, seat[1] + 0.03), 0.05, (30, 30, 30))
    rider = Canvas(length, height, per_m)
    hip, shoulder = (0.74, 1.02), (1.08, 1.45)
    for foot in ((0.95, 0.25), (0.7, 0.42)):
        knee = (0.98, 0.72)
        rider.limb(hip, knee, 0.13, colours["trousers"])
        rider.limb(knee, foot, 0.11, colours["trousers"])
    rider.limb(hip, shoulder, 0.3, colours["top"])
    rider.limb(shoulder, bars, 0.09, colours["top"] * 0.9)
    rider.disc(1.2, 1.62, 0.11, colours["skin"])
    rider.poly([(1.07, 1.64), (1.12, 1.76), (1.3, 1.74), (1.33, 1.63)], helmet)

    bike_rear = Canvas(width, height, per_m)
    bike_rear.limb((width / 2, 0.02), (width / 2, 0.7), 0.045, (25, 25, 25))
    bike_rear.limb((0.06, 1.05), (width - 0.06, 1.05), 0.035, frame)
    rider_rear = Canvas(width, height, per_m)
    for x, foot in ((width / 2 - 0.1, 0.3), (width / 2 + 0.1, 0.5)):
        rider_rear.limb((x, 1.0), (x + 0.02, foot), 0.12, colours["trousers"])
    rider_rear.poly(
        [
            (width / 2 - 0.2, 1.48),
            (width / 2 + 0.2, 1.48),
            (width / 2 + 0.15, 0.98),
            (width / 2 - 0.15, 0.98),
        ],
        colours["top"],
    )
    rider_rear.disc(width / 2, 1.6, 0.11, helmet)
    side_bicycle, side_rider = bike.texture(rng), rider.texture(rng)
    return CyclistLook(
        length,
        width,
        height,
        side_bicycle,
        side_rider,
        bike_rear.texture(rng),
        rider_rear.texture(rng),
        side_bicycle.mirrored(),
        side_rider.mirrored(),
    )
