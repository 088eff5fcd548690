"""Procedural textures of vehicles: cars, buses and trucks, each a box with side, front and rear faces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warp_refine_ros.synth.classes import Class
from warp_refine_ros.synth.sprites import CAR_COLORS, Canvas
from warp_refine_ros.synth.texture import Texture, jitter_color, smooth_noise

GLASS = np.array([40, 48, 58], np.float32)


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
