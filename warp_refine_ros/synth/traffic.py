"""Road users that move: oncoming vehicles, a vehicle ahead in our lane, cyclists we overtake, walkers.

Every mover's position is a closed-form function of time, so any frame can be rendered on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from warp_refine_ros.synth import things
from warp_refine_ros.synth.people import CyclistLook, PersonLook
from warp_refine_ros.synth.vehicles import VehicleLook


@dataclass(frozen=True)
class Entering:
    """Enters the road at time ``t0`` at ``z0`` (the far end of the view) and moves at ``speed``.

    Before ``t0`` it does not exist, so what is on the road at time t never depends on later arrivals.
    """

    x: float
    z0: float
    t0: float
    speed: float

    def z(self, t: float) -> float | None:
        """Position along the road at time t, None before it enters."""
        return None if t < self.t0 else self.z0 + self.speed * (t - self.t0)


@dataclass(frozen=True)
class Vehicle(Entering):
    """A car, bus or truck heading the way it moves."""

    look: VehicleLook

    def thing(self, t: float, eye: np.ndarray) -> things.Thing:
        """Its quads at time t, seen from ``eye``."""
        return things.vehicle(self.x, self.z(t), 1.0 if self.speed >= 0 else -1.0, self.look)


@dataclass(frozen=True)
class Cyclist(Entering):
    """A cyclist riding along the right edge of the road."""

    look: CyclistLook

    def thing(self, t: float, eye: np.ndarray) -> things.Thing:
        """Its quads at time t, seen from ``eye``."""
        return things.cyclist(self.x, self.z(t), self.look)


@dataclass(frozen=True)
class Follower:
    """The vehicle ahead in our lane: keeps a gap that breathes slowly around ``gap`` metres."""

    look: VehicleLook
    x: float
    gap: float
    phase: float
    ego: Callable[[float], float]

    def z(self, t: float) -> float:
        """Position along the road at time t."""
        return self.ego(t) + self.gap * (1.0 + 0.3 * math.sin(0.17 * t + self.phase))

    def thing(self, t: float, eye: np.ndarray) -> things.Thing:
        """Its quads at time t, seen from ``eye``."""
        return things.vehicle(self.x, self.z(t), 1.0, self.look)


@dataclass(frozen=True)
class Walker:
    """A person on the sidewalk, walking along it at ``speed`` (0 = standing)."""

    look: PersonLook
    x: float
    z0: float
    speed: float

    def z(self, t: float) -> float:
        """Position along the road at time t."""
        return self.z0 + self.speed * t

    def thing(self, t: float, eye: np.ndarray) -> things.Thing:
        """Its quads at time t, seen from ``eye``."""
        return things.pedestrian(eye, self.x, self.z(t), abs(self.speed) * t, self.look)


Mover = Vehicle | Follower | Cyclist | Walker


def arrivals(rng: np.random.Generator, start: float, end: float, mean_gap: float) -> Iterator[float]:
    """Times of a Poisson stream over [start, end) with the given mean interval.

    A generator: the caller's own draws for each arrival come between the draws of the times, so a
    shorter time span yields the same first arrivals with the same attributes.
    """
    t = start + rng.exponential(mean_gap) * rng.random()
    while t < end:
        yield t
        t += rng.exponential(mean_gap)
