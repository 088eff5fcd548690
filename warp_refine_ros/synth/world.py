"""The whole street of one drive, planned from the seed: lots, furniture and traffic (looks: ``looks.py``).

``World.things(t, eye)`` answers what is in view at time t, in drawing order. The plan is made once
(a few thousand records for a long drive); quads are only built for what is near the camera.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from warp_refine_ros.synth import materials, things
from warp_refine_ros.synth.classes import Class
from warp_refine_ros.synth.config import DriveConfig
from warp_refine_ros.synth.layout import CURB, SIGN, GroundPlan, Intersection, Material, Street, Surface
from warp_refine_ros.synth.looks import Looks, backdrop, pick
from warp_refine_ros.synth.things import Thing, Zone
from warp_refine_ros.synth.traffic import Cyclist, Follower, Mover, Vehicle, Walker, arrivals

BEHIND = 25.0
"""Things this far behind the camera may still be beside it and in view."""
WALK_SPEED = 1.7
"""Fastest walker (m/s)."""
MAX_DEPTH = 16.0
"""Deepest building of the front row (m); what stands behind the row starts farther out."""


@dataclass(frozen=True)
class Placed:
    """A static thing in the plan: where it is along the road, how far it can be seen, how to build it."""

    z0: float
    z1: float
    reach: float
    build: Callable[[np.ndarray], Thing]


def _fixed(thing: Thing) -> Callable[[np.ndarray], Thing]:
    return lambda eye: thing


class World:
    """Static street plan plus traffic for one drive."""

    def __init__(
        self, config: DriveConfig, ego_z: Callable[[float], float], lane_x: float, street: Street
    ) -> None:
        self.config = config
        self.street = street
        self.view = config.view_distance_m
        seed = config.seed
        detail = float(np.clip(config.width / 640.0, 0.35, 2.0))
        self.looks = Looks(seed, detail)
        end = ego_z(config.duration_s) + 2.0 * self.view + 60.0

        # one random stream per side and kind of thing, each consumed along the road: a shorter drive
        # of the same seed is exactly the beginning of a longer one
        def stream(*key: int) -> np.random.Generator:
            return np.random.default_rng([seed, 3, *key])

        self.intersections = self._intersections(stream(0), end + 1600.0)
        self.placed: list[Placed] = []
        surfaces: list[Surface] = []
        start = -BEHIND - 40.0
        for side in (0, 1):
            surfaces += self._lots(stream(1, side), side, start, end)
            self._lamps(stream(2, side), side, start, end)
            self._street_trees(stream(3, side), side, start, end)
            self._signs(stream(4, side), side, start, end)
            self._signals(stream(5, side), side, end)
            self._bicycles(stream(6, side), side, start, end)
            self._parked(stream(7, side), side, end)
        self.ground = GroundPlan(street, -BEHIND - 60.0, end + 1600.0, self.intersections, surfaces)
        order = np.argsort([p.z0 for p in self.placed], kind="stable")
        self.placed = [self.placed[i] for i in order]
        self._z0 = np.array([p.z0 for p in self.placed])
        self._z1 = np.array([p.z1 for p in self.placed])
        self._reach = np.array([p.reach for p in self.placed])
        self.movers = self._traffic(seed, config, ego_z, lane_x)
        self.backdrop = backdrop(self.looks, config)

    # --- plan -----------------------------------------------------------------------------------

    def _intersections(self, rng: np.random.Generator, end: float) -> list[Intersection]:
        out, z = [], float(rng.uniform(40.0, 160.0))
        while z < end:
            band = float(rng.uniform(2.0, 3.5))
            width = float(rng.uniform(7.0, 11.0)) + 2 * band
            out.append(Intersection(z, z + width, band))
            z += width + float(rng.uniform(90.0, 230.0))
        return out

    def _crossing(self, z0: float, z1: float) -> Intersection | None:
        return next((c for c in self.intersections if c.contains(z0, z1)), None)

    def _next_crossing(self, z: float) -> float:
        return next((c.z0 for c in self.intersections if c.z1 > z), float("inf"))

    def _add(self, z0: float, z1: float, build: Callable[[np.ndarray], Thing], big: bool = False) -> None:
        self.placed.append(Placed(z0, z1, (2.0 if big else 1.0) * self.view, build))

    def _lots(self, rng: np.random.Generator, side: int, z: float, end: float) -> list[Surface]:
        """Buildings, gaps and small parks along one side, up to each cross street and on after it."""
        s, street, surfaces = SIGN[side], self.street, []
        facade, outer = street.facade(side), street.sidewalk_outer(side)
        while z < end:
            crossing = self._crossing(z, z + 0.01)
            if crossing is not None:
                self._cross_street_blocks(rng, side, crossing)
                z = crossing.z1
                continue
            room = self._next_crossing(z) - z
            if room < 3.0:
                surfaces.append(Surface(side, z, z + room, Material.GRASS))
                z += room
                continue
            draw = rng.random()
            style = pick(rng, self.looks.facades)
            bays = int(min(rng.integers(3, 10), room // style.bay))
            if draw < 0.62 and bays >= 2:
                length = bays * style.bay
                floors = int(rng.choice([1, 2, 2, 3, 3, 4, 4, 5, 6, 8]))
                x = s * (facade + (float(rng.uniform(0.0, 1.5)) if street.setback[side] > 0 else 0.0))
                front = _front(side, x, z, z + length)
                b = things.building(*front, float(rng.uniform(8.0, MAX_DEPTH)), floors, style, Zone.BUILDINGS)
                self._add(z, z + length, _fixed(b), big=True)
                material = Material.PLAZA if rng.random() < 0.5 else Material.GRASS
                if street.setback[side] > 0.8 and rng.random() < 0.5:
                    self._front_strip(rng, side, z, z + length)
            else:
                park = draw > 0.85
                length = min(room, float(rng.uniform(15.0, 40.0) if park else rng.uniform(4.0, 14.0)))
                material = Material.GRASS if park or rng.random() < 0.6 else Material.DIRT
                self._back_buildings(rng, side, z, z + length, facade + (30.0 if park else MAX_DEPTH + 1.0))
                if rng.random() < 0.6:
                    self._front_strip(rng, side, z, z + length)
                for _ in range(int(rng.poisson(length / (6.0 if park else 10.0)))):
                    depth = outer + float(rng.uniform(1.5, (25.0 if park else facade - outer + 8.0)))
                    # behind the facade line a tree stands among the buildings and is ordered with them
                    zone = Zone.YARDS if depth < facade else Zone.BUILDINGS
                    self._tree(rng, s * depth, z + float(rng.uniform(0.0, length)), zone)
            surfaces.append(Surface(side, z, z + length, material))
            z += length
        return surfaces

    def _front_strip(self, rng: np.random.Generator, side: int, z0: float, z1: float) -> None:
        """A fence, hedge or low wall along the back of the sidewalk."""
        x = SIGN[side] * (self.street.sidewalk_outer(side) + 0.1)
        kind = rng.integers(3)
        pool, label, height = (
            (self.looks.fences, Class.FENCE, rng.uniform(1.0, 1.9)),
            (self.looks.hedges, Class.VEGETATION, rng.uniform(0.8, 1.9)),
            (self.looks.walls, Class.WALL, rng.uniform(0.6, 1.6)),
        )[kind]
        texture = pick(rng, pool)
        cut = {Class.FENCE: materials.FENCE_HEIGHT, Class.WALL: materials.WALL_HEIGHT}.get(label)
        thing = things.strip(
            side, x, z0, z1, float(height), texture, materials.STRIP_LENGTH, cut, label, Zone.YARDS
        )
        self._add(z0, z1, _fixed(thing))

    def _back_buildings(
        self, rng: np.random.Generator, side: int, z0: float, z1: float, offset: float
    ) -> None:
        """Buildings of the next street, seen through gaps between the front row."""
        style = pick(rng, self.looks.facades)
        bays = max(2, int(np.ceil((z1 - z0 + 12.0) / style.bay)))
        start = z0 - 6.0
        x = SIGN[side] * (offset + float(rng.uniform(0.0, 6.0)))
        front = _front(side, x, start, start + bays * style.bay)
        thing = things.building(*front, 12.0, int(rng.integers(2, 8)), style, Zone.BACK)
        self._add(start, start + bays * style.bay, _fixed(thing), big=True)

    def _cross_street_blocks(self, rng: np.random.Generator, side: int, crossing: Intersection) -> None:
        """Rows of buildings along a cross street, facing it from both of its sides."""
        s = SIGN[side]
        near = self.street.facade(side) + MAX_DEPTH + 1.5  # beyond the corner buildings
        for z_face, toward in ((crossing.z1, -1.0), (crossing.z0, 1.0)):  # facing -z (towards us), +z
            style = pick(rng, self.looks.facades)
            far = near + int(rng.integers(8, 16)) * style.bay
            x_lo, x_hi = sorted((s * near, s * far))
            ends = ((x_lo, z_face), (x_hi, z_face))
            left, right = ends if toward < 0 else ends[::-1]
            thing = things.building(left, right, 12.0, int(rng.integers(2, 7)), style, Zone.BACK)
            z0, z1 = sorted((z_face, z_face - toward * 12.0))
            self._add(z0, z1, _fixed(thing), big=True)

    def _tree(self, rng: np.random.Generator, x: float, z: float, zone: Zone) -> None:
        size = float(rng.uniform(3.0, 6.5))
        build = functools.partial(
            things.tree,
            x=x,
            z=z,
            trunk_height=float(rng.uniform(1.8, 3.2)),
            crown_size=size,
            bark=pick(rng, self.looks.bark),
            crown=pick(rng, self.looks.crowns),
            zone=zone,
        )
        self._add(z - size / 2, z + size / 2, build)

    def _lamps(self, rng: np.random.Generator, side: int, start: float, end: float) -> None:
        """Street lights at a steady spacing near the curb."""
        spacing = float(rng.uniform(24.0, 38.0))
        x = SIGN[side] * (self.street.sidewalk_inner(side) + 0.4)
        for z in np.arange(start + rng.uniform(0, spacing), end, spacing):
            height = float(rng.uniform(6.5, 9.0))
            if self._crossing(z - 1.0, z + 1.0) is None:
                build = functools.partial(
                    things.lamp, side=side, x=x, z=float(z), height=height, metal=self.looks.lamp_metal
                )
                self._add(float(z) - 2.0, float(z) + 2.0, build)

    def _street_trees(self, rng: np.random.Generator, side: int, start: float, end: float) -> None:
        """On some streets, a row of trees in the verge or along the curb."""
        if rng.random() >= 0.65:
            return
        street = self.street
        wide_verge = street.verge[side] > 1.2
        offset = (
            street.road_half + CURB + street.verge[side] / 2
            if wide_verge
            else street.sidewalk_inner(side) + 0.8
        )
        z = start + float(rng.uniform(0, 8))
        while z < end:
            if self._crossing(z - 3.0, z + 3.0) is None:
                self._tree(rng, SIGN[side] * offset, z, Zone.SIDEWALK)
            z += float(rng.uniform(7.0, 14.0))

    def _signs(self, rng: np.random.Generator, side: int, start: float, end: float) -> None:
        x = SIGN[side] * (self.street.sidewalk_inner(side) + 0.35)
        z = start + float(rng.uniform(0, 40))
        while z < end:
            face, height, size = (
                pick(rng, self.looks.signs),
                float(rng.uniform(2.4, 3.2)),
                rng.uniform(0.55, 0.8),
            )
            if self._crossing(z - 1.0, z + 1.0) is None:
                build = functools.partial(
                    things.traffic_sign,
                    x=x,
                    z=z,
                    height=height,
                    metal=self.looks.sign_metal,
                    face=face,
                    size=float(size),
                )
                self._add(z - 1.0, z + 1.0, build)
            z += float(rng.uniform(35.0, 90.0))

    def _signals(self, rng: np.random.Generator, side: int, end: float) -> None:
        """Traffic lights at the corners of each cross street, facing us."""
        x = SIGN[side] * (self.street.sidewalk_inner(side) + 0.4)
        for crossing in self.intersections:
            if crossing.z0 > end:
                break
            for z in (crossing.z0 - 0.6, crossing.z1 + 0.6) if side == 0 else (crossing.z0 - 0.6,):
                head, height = pick(rng, self.looks.signals), float(rng.uniform(3.2, 3.8))
                build = functools.partial(
                    things.signal, x=x, z=z, height=height, metal=self.looks.lamp_metal, head=head
                )
                self._add(z - 1.0, z + 1.0, build)

    def _bicycles(self, rng: np.random.Generator, side: int, start: float, end: float) -> None:
        """Bicycles parked at the back of the sidewalk."""
        x = SIGN[side] * (self.street.sidewalk_outer(side) - 0.35)
        z = start + float(rng.uniform(0, 30))
        while z < end:
            look, parked = pick(rng, self.looks.cyclists), rng.random() < 0.4
            if parked and self._crossing(z - 1.0, z + 1.0) is None:
                self._add(z - 1.0, z + 1.0, _fixed(things.parked_bicycle(side, x, z, look)))
            z += float(rng.uniform(15.0, 45.0))

    def _parked(self, rng: np.random.Generator, side: int, end: float) -> None:
        """Cars parked along one curb where the street has a parking strip."""
        if self.street.parking < 1.9:
            return
        s = SIGN[side]
        z = -BEHIND - 30.0
        while z < end:
            look = pick(rng, self.looks.cars)
            if self._crossing(z - 8.0, z + look.length + 4.0) is None and rng.random() < 0.55:
                heading = 1.0 if side == 1 else -1.0
                thing = things.vehicle(s * (self.street.road_half - 1.05), z + look.length / 2, heading, look)
                self._add(z, z + look.length, _fixed(thing))
            z += look.length + float(rng.uniform(0.8, 4.0))

    def _traffic(
        self, seed: int, config: DriveConfig, ego_z: Callable[[float], float], lane_x: float
    ) -> list[Mover]:
        """Oncoming vehicles, maybe a vehicle ahead, cyclists and walkers; one random stream each."""

        def stream(key: int) -> np.random.Generator:
            return np.random.default_rng([seed, 4, key])

        s, duration = self.street, config.duration_s
        movers: list[Mover] = []
        rng = stream(0)
        for t in arrivals(rng, -30.0, duration, 3.5):  # oncoming, entering at the far end of the view
            kind = rng.random()
            pool = self.looks.cars if kind < 0.84 else self.looks.buses if kind < 0.92 else self.looks.trucks
            speed = float(rng.uniform(7.0, 13.0))
            x = -s.lane_width / 2 + float(rng.normal(0.0, 0.12))
            movers.append(Vehicle(x, ego_z(t) + self.view, t, -speed, look=pick(rng, pool)))
        rng = stream(1)
        if rng.random() < 0.6:
            look = pick(rng, self.looks.cars)
            gap, phase = float(rng.uniform(14.0, 30.0)), float(rng.uniform(0, 2 * np.pi))
            movers.append(Follower(look, lane_x, gap, phase, ego_z))
        rng = stream(2)
        cyclist_x = s.lane_width - 0.35 if s.parking > 0 else s.road_half - 0.45
        for t in arrivals(rng, -60.0, duration, 14.0):  # cyclists we catch up with, from the far end too
            look, speed = pick(rng, self.looks.cyclists), float(rng.uniform(3.5, 5.5))
            movers.append(Cyclist(cyclist_x, ego_z(t) + self.view, t, speed, look=look))
        end = ego_z(duration) + self.view + WALK_SPEED * duration + 30.0  # who can walk into view
        for side in (0, 1):
            rng = stream(3 + side)
            inner, outer = s.sidewalk_inner(side), s.sidewalk_outer(side)
            z = -BEHIND - 20.0
            while z < end:
                z += float(rng.exponential(11.0))
                speed = (
                    0.0
                    if rng.random() < 0.3
                    else float(rng.choice([-1.0, 1.0]) * rng.uniform(1.0, WALK_SPEED))
                )
                x = SIGN[side] * float(rng.uniform(inner + 0.4, outer - 0.3))
                movers.append(Walker(pick(rng, self.looks.people), x, z, speed))
        return movers

    # --- query ----------------------------------------------------------------------------------

    def things(self, t: float, eye: np.ndarray) -> list[Thing]:
        """Everything near enough to be seen from ``eye`` at time t, back to front."""
        z = float(eye[2])
        near = (self._z1 >= z - BEHIND) & (self._z0 <= z + self._reach)
        found = [self.placed[i].build(eye) for i in np.flatnonzero(near)]
        for mover in self.movers:
            mz = mover.z(t)
            if mz is not None and z - BEHIND <= mz <= z + self.view:
                found.append(mover.thing(t, eye))
        found.sort(key=lambda thing: (thing.zone, -thing.distance(eye)))
        return found


def _front(side: int, x: float, z0: float, z1: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Left and right ends of a building front at x facing the road, as seen from the road."""
    return ((x, z1), (x, z0)) if side == 1 else ((x, z0), (x, z1))
