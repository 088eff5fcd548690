"""Procedural textures of people: walkers in the poses of a walking cycle, and cyclists."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warp_refine_ros.synth.sprites import CAR_COLORS, Canvas
from warp_refine_ros.synth.texture import Texture, jitter_color

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
