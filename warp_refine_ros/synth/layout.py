"""The street plan: cross-section, intersections, and the ground materials along the whole route.

Sides are indexed 0 = left (x < 0) and 1 = right (x > 0); ``SIGN[side]`` turns a distance from the road
centre into an x coordinate. Vehicles drive on the right.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

SIGN = (-1.0, 1.0)
CURB = 0.2
"""Width (m) of the curb stones between the road and the verge or sidewalk."""


class Material(IntEnum):
    """Ground materials; each has one class (see ``GROUND_LABEL``) and its own look."""

    ASPHALT = 0
    CURB = 1
    PAVERS = 2
    GRASS = 3
    DIRT = 4
    PLAZA = 5


class Cell(IntEnum):
    """What a stretch of road is: plain (lane markings), crossing (zebra), or inside a cross street."""

    PLAIN = 0
    CROSSING = 1
    JUNCTION = 2


@dataclass(frozen=True)
class Street:
    """Cross-section of the street, the same along the whole drive."""

    lane_width: float
    road_half: float
    verge: tuple[float, float]
    sidewalk: tuple[float, float]
    setback: tuple[float, float]
    dashed_centre: bool
    edge_lines: bool

    @classmethod
    def random(cls, rng: np.random.Generator) -> Street:
        """A street of the seed's town: lane width, parking, verges, sidewalks, front yards, markings."""
        lane = float(rng.uniform(3.1, 3.6))
        parking = float(rng.choice([0.0, 0.0, rng.uniform(2.0, 2.6)]))
        verge = tuple(float(rng.choice([0.0, 0.0, rng.uniform(0.8, 2.5)])) for _ in range(2))
        sidewalk = tuple(float(rng.uniform(1.8, 4.0)) for _ in range(2))
        setback = tuple(float(rng.choice([0.0, rng.uniform(0.5, 6.0)])) for _ in range(2))
        return cls(
            lane, lane + parking, verge, sidewalk, setback, bool(rng.random() < 0.7), bool(rng.random() < 0.6)
        )

    @property
    def parking(self) -> float:
        """Width of the parking strip beside each lane (0 for none)."""
        return self.road_half - self.lane_width

    def sidewalk_inner(self, side: int) -> float:
        """Distance from the road centre to where the sidewalk starts."""
        return self.road_half + CURB + self.verge[side]

    def sidewalk_outer(self, side: int) -> float:
        """Distance from the road centre to where the sidewalk ends."""
        return self.sidewalk_inner(side) + self.sidewalk[side]

    def facade(self, side: int) -> float:
        """Distance from the road centre to the building line."""
        return self.sidewalk_outer(side) + self.setback[side]


@dataclass(frozen=True)
class Intersection:
    """A cross street from z0 to z1; its first and last ``band`` metres are crossings with sidewalks."""

    z0: float
    z1: float
    band: float

    def contains(self, z0: float, z1: float) -> bool:
        """Whether [z0, z1] overlaps the cross street."""
        return z0 < self.z1 and z1 > self.z0


@dataclass(frozen=True)
class Surface:
    """The ground beyond the sidewalk on one side over [z0, z1): a lawn, a plaza, bare earth."""

    side: int
    z0: float
    z1: float
    material: Material


class GroundPlan:
    """Ground material at any (x, z): a lateral profile picked per ``STEP`` of road.

    ``profiles[cell_profile[(z - z0) / STEP], (x + EXTENT) / DX]`` is the material; ``cell_kind`` says
    where lane markings or zebra crossings are painted.
    """

    STEP = 0.25
    DX = 0.05
    EXTENT = 90.0

    def __init__(
        self,
        street: Street,
        z0: float,
        z1: float,
        intersections: Iterable[Intersection],
        surfaces: Iterable[Surface],
        default: Material = Material.GRASS,
    ) -> None:
        self.street = street
        self.z0 = z0
        count = int(np.ceil((z1 - z0) / self.STEP)) + 1
        centres = z0 + (np.arange(count) + 0.5) * self.STEP
        kind = np.full(count, Cell.PLAIN, np.uint8)
        beyond = np.full((2, count), default, np.uint8)
        for surface in surfaces:
            beyond[surface.side, (centres >= surface.z0) & (centres < surface.z1)] = surface.material
        for crossing in intersections:
            inside = (centres >= crossing.z0) & (centres < crossing.z1)
            kind[inside] = Cell.JUNCTION
            band = inside & (
                (centres < crossing.z0 + crossing.band) | (centres >= crossing.z1 - crossing.band)
            )
            kind[band] = Cell.CROSSING
        keys = np.stack([kind, beyond[0], beyond[1]], axis=1)
        unique, index = np.unique(keys, axis=0, return_inverse=True)
        self.cell_kind = kind
        self.cell_profile = index.reshape(-1).astype(np.int32)
        self.profiles = np.stack(
            [self._profile(Cell(k), Material(left), Material(right)) for k, left, right in unique]
        )
        self.width = self.profiles.shape[1]
        self._row_start = self.cell_profile * self.width  # flat index of each cell's profile

    def _profile(self, kind: Cell, left: Material, right: Material) -> np.ndarray:
        """Materials across the street at 5 cm steps for one kind of stretch."""
        s = self.street
        x = (np.arange(int(2 * self.EXTENT / self.DX)) + 0.5) * self.DX - self.EXTENT
        out = np.empty(x.shape, np.uint8)
        ax = np.abs(x)
        side = (x > 0).astype(int)
        if kind == Cell.JUNCTION:
            out[:] = Material.ASPHALT
            return out
        inner = np.where(side == 1, s.sidewalk_inner(1), s.sidewalk_inner(0))
        outer = np.where(side == 1, s.sidewalk_outer(1), s.sidewalk_outer(0))
        out[:] = np.where(side == 1, right, left)
        out[ax < outer] = Material.PAVERS
        if kind == Cell.CROSSING:
            out[ax >= s.road_half] = Material.PAVERS
        else:
            out[(ax >= s.road_half + CURB) & (ax < inner)] = Material.GRASS
        out[(ax >= s.road_half) & (ax < s.road_half + CURB)] = Material.CURB
        out[ax < s.road_half] = Material.ASPHALT
        return out

    def lookup(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Materials and cell kinds (uint8 arrays like x) at world points (x, z)."""
        zi = ((z - np.float32(self.z0)) * np.float32(1.0 / self.STEP)).astype(np.int32)
        xi = np.clip((x + np.float32(self.EXTENT)) * np.float32(1.0 / self.DX), 0, self.width - 1).astype(
            np.int32
        )
        flat = np.take(self._row_start, zi, mode="clip") + xi
        return np.take(self.profiles, flat), np.take(self.cell_kind, zi, mode="clip")
