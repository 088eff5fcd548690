"""The drive's looks: its pools of textures, drawn once from the seed, and the sky backdrop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from warp_refine_ros.synth import materials, people, vehicles
from warp_refine_ros.synth.classes import Class
from warp_refine_ros.synth.config import DriveConfig
from warp_refine_ros.synth.quads import Quad

T = TypeVar("T")


def pick(rng: np.random.Generator, pool: Sequence[T]) -> T:
    """One member of a pool, chosen by ``rng``."""
    return pool[int(rng.integers(len(pool)))]


class Looks:
    """The drive's texture pools: several looks per kind, drawn once from the seed.

    Each texture has its own random stream, so a look keeps its colours at any image size (only its
    texel count follows the resolution).
    """

    def __init__(self, seed: int, detail: float) -> None:
        parent = np.random.default_rng([seed, 2])

        def make(maker: Callable[..., T], *args: object, count: int) -> list[T]:
            return [maker(np.random.default_rng(parent.integers(2**63)), detail, *args) for _ in range(count)]

        self.facades = make(materials.facade_style, count=6)
        self.walls = make(materials.wall, count=2)
        self.fences = make(materials.fence, count=3)
        self.hedges = make(materials.hedge, count=2)
        self.crowns = make(materials.crown, count=5)
        self.bark = make(materials.bark, count=2)
        self.lamp_metal = make(materials.metal, count=1)[0]
        self.sign_metal = make(materials.metal, (130, 132, 134), count=1)[0]
        self.signs = make(materials.sign, count=6)
        self.signals = make(materials.traffic_light, count=3)
        self.sky = make(materials.sky, count=1)[0]
        haze = self.sky.levels[-1][..., :3].reshape(-1, 3).mean(axis=0)
        self.treeline = make(materials.skyline, haze, False, count=1)[0]
        self.towers = make(materials.skyline, haze, True, count=1)[0]
        self.cars = make(vehicles.vehicle, count=8)
        self.buses = make(vehicles.vehicle, Class.BUS, count=2)
        self.trucks = make(vehicles.vehicle, Class.TRUCK, count=2)
        self.people = make(people.person, count=10)
        self.cyclists = make(people.cyclist, count=3)


def backdrop(looks: Looks, config: DriveConfig) -> list[Quad]:
    """Sky and the distant skyline: placed relative to the camera, so only its rotation moves them.

    They reach a little below the horizon, where the ground (drawn next) takes over.
    """
    half_fov = np.tan(np.radians(config.hfov_deg) / 2)
    layers = []
    for texture, label, distance, top, below in (
        (
            looks.sky,
            Class.SKY,
            1000.0,
            1000.0 * (half_fov * config.height / config.width + 0.6),
            10.0,
        ),
        (looks.treeline, Class.VEGETATION, 800.0, 30.0, 12.0),
        (looks.towers, Class.BUILDING, 700.0, 75.0, 12.0),
    ):
        w = distance * (half_fov + 0.6)
        origin, u, v = (
            np.array([-w, -top, distance]),
            np.array([2 * w, 0.0, 0.0]),
            np.array([0.0, top + below, 0.0]),
        )
        layers.append(Quad(origin, u, v, texture, label, at_infinity=True))
    return layers
