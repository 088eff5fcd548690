"""Objects of the street as lists of quads: buildings, trees, lamps, signs, lights, vehicles, people.

Each builder returns a ``Thing``: its quads in drawing order plus what the scene needs to order things
back to front (a zone and a footprint segment). Faces of a box are culled from behind, so the visible
faces of one box never overlap and their order does not matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from warp_refine_ros.synth.classes import Class
from warp_refine_ros.synth.materials import FacadeStyle
from warp_refine_ros.synth.people import PHASES, CyclistLook, PersonLook
from warp_refine_ros.synth.quads import Quad, billboard, vertical_quad
from warp_refine_ros.synth.texture import Texture
from warp_refine_ros.synth.vehicles import VehicleLook


class Zone(IntEnum):
    """Bands of the street from the far side inwards: a thing can only be hidden by things of its own band
    or of a later one.

    The camera is on the road, so a line of sight crosses the road, sidewalk, yard and building bands in
    that order: drawing band by band from BACK to ROAD, and far to near within a band, is correct.
    """

    BACK = 0
    BUILDINGS = 1
    YARDS = 2
    SIDEWALK = 3
    ROAD = 4


@dataclass(frozen=True)
class Thing:
    """Quads to draw in order, the zone, and the footprint segment (x0, z0, x1, z1) used for depth order."""

    quads: tuple[Quad, ...]
    zone: Zone
    footprint: tuple[float, float, float, float]

    def distance(self, eye: np.ndarray) -> float:
        """Distance from the eye (x, z) to the footprint segment."""
        x0, z0, x1, z1 = self.footprint
        dx, dz = x1 - x0, z1 - z0
        span = dx * dx + dz * dz
        f = 0.0 if span == 0 else min(1.0, max(0.0, ((eye[0] - x0) * dx + (eye[2] - z0) * dz) / span))
        return math.hypot(eye[0] - (x0 + f * dx), eye[2] - (z0 + f * dz))


def _tiled_face(
    left: tuple[float, float],
    right: tuple[float, float],
    bottom: float,
    units: int,
    unit_height: float,
    rows: int,
    texture: Texture,
    tile_units: int,
    tile_rows: int,
    label: int,
) -> list[Quad]:
    """A face ``units`` bays wide and ``rows`` floors high, cut into tiles of at most one texture each."""
    quads = []
    lx, lz = left
    dx, dz = (right[0] - lx) / units, (right[1] - lz) / units
    for u0 in range(0, units, tile_units):
        nu = min(tile_units, units - u0)
        a = (lx + u0 * dx, lz + u0 * dz)
        b = (lx + (u0 + nu) * dx, lz + (u0 + nu) * dz)
        for r0 in range(0, rows, tile_rows):
            nr = min(tile_rows, rows - r0)
            top = bottom + (rows - r0) * unit_height
            crop = texture.crop(0.0, 0.0, nu / tile_units, nr / tile_rows)
            quads.append(vertical_quad(a, b, top - nr * unit_height, top, crop, label))
    return quads


def building(
    left: tuple[float, float],
    right: tuple[float, float],
    depth: float,
    floors: int,
    style: FacadeStyle,
    zone: Zone,
) -> Thing:
    """A block whose front runs from ``left`` to ``right`` (ground points as seen from in front of it).

    The block extends ``depth`` metres away from that viewer; its two end walls are drawn too (seen
    through gaps and down cross streets), its back and roof never are.
    """
    length = math.hypot(right[0] - left[0], right[1] - left[1])
    rx, rz = (right[0] - left[0]) / length, (right[1] - left[1]) / length
    bays, deep = max(1, round(length / style.bay)), max(1, round(depth / style.bay))
    dx, dz = -rz * deep * style.bay, rx * deep * style.bay  # into the block
    top = style.ground_floor + floors * style.floor
    quads = _tiled_face(
        left, right, 0.0, bays, style.ground_floor, 1, style.ground, style.bays, 1, Class.BUILDING
    )
    quads += _tiled_face(
        left,
        right,
        style.ground_floor,
        bays,
        style.floor,
        floors,
        style.upper,
        style.bays,
        style.floors,
        Class.BUILDING,
    )
    for a, b in (((left[0] + dx, left[1] + dz), left), (right, (right[0] + dx, right[1] + dz))):
        quads += _tiled_face(
            a, b, 0.0, deep, top / floors, floors, style.side, style.bays, style.floors, Class.BUILDING
        )
    return Thing(tuple(quads), zone, (left[0], left[1], right[0], right[1]))


def strip(
    side: int,
    x: float,
    z0: float,
    z1: float,
    height: float,
    texture: Texture,
    tile: float,
    tile_height: float | None,
    label: int,
    zone: Zone,
) -> Thing:
    """A long low element facing the road (wall, fence, hedge), in texture-sized pieces.

    The texture is ``tile`` metres long; it is cut to ``height`` from the top when ``tile_height`` says
    how tall it is, and stretched to ``height`` otherwise (a hedge keeps its ragged top).
    """
    quads = []
    rows = 1.0 if tile_height is None else min(1.0, height / tile_height)
    z = z0
    while z < z1 - 1e-6:
        step = min(tile, z1 - z)
        crop = texture.crop(0.0, 0.0, step / tile, rows)
        a, b = ((x, z + step), (x, z)) if side == 1 else ((x, z), (x, z + step))
        quads.append(vertical_quad(a, b, 0.0, height, crop, label))
        z += step
    return Thing(tuple(quads), zone, (x, z0, x, z1))


def tree(
    eye: np.ndarray,
    x: float,
    z: float,
    trunk_height: float,
    crown_size: float,
    bark: Texture,
    crown: Texture,
    zone: Zone,
) -> Thing:
    """A trunk and a crown, both turned to the eye (vegetation)."""
    trunk = billboard(
        eye, x, z, 0.09 * crown_size, 0.0, trunk_height + 0.3 * crown_size, bark, Class.VEGETATION
    )
    bottom = trunk_height - 0.15 * crown_size
    leaves = billboard(eye, x, z, crown_size, bottom, bottom + crown_size, crown, Class.VEGETATION)
    return Thing((trunk, leaves), zone, (x, z, x, z))


def _plate(x: float, z: float, width: float, bottom: float, top: float, texture: Texture, label: int) -> Quad:
    """A flat panel facing oncoming traffic (towards -z), centred on x."""
    return vertical_quad((x - width / 2, z), (x + width / 2, z), bottom, top, texture, label)


def lamp(eye: np.ndarray, side: int, x: float, z: float, height: float, metal: Texture) -> Thing:
    """A street light: pole, an arm reaching over the road, and the lamp head (all 'pole')."""
    s = 1.0 if side == 1 else -1.0
    reach = 1.6
    pole = billboard(eye, x, z, 0.16, 0.0, height, metal, Class.POLE)
    arm = Quad(
        np.array([x, -height + 0.05, z]),
        np.array([-s * reach, 0.0, 0.0]),
        np.array([0.0, 0.1, 0.0]),
        metal,
        Class.POLE,
    )
    head = _plate(x - s * reach, z, 0.55, height - 0.2, height + 0.02, metal, Class.POLE)
    return Thing((pole, arm, head), Zone.SIDEWALK, (x, z, x, z))


def traffic_sign(
    eye: np.ndarray, x: float, z: float, height: float, metal: Texture, face: Texture, size: float
) -> Thing:
    """A sign plate facing oncoming traffic on a thin pole."""
    pole = billboard(eye, x, z, 0.07, 0.0, height, metal, Class.POLE)
    plate = _plate(x, z - 0.05, size, height - size, height, face, Class.TRAFFIC_SIGN)
    return Thing((pole, plate), Zone.SIDEWALK, (x, z, x, z))


def signal(eye: np.ndarray, x: float, z: float, height: float, metal: Texture, head: Texture) -> Thing:
    """A traffic light head facing oncoming traffic on a pole."""
    pole = billboard(eye, x, z, 0.13, 0.0, height, metal, Class.POLE)
    light = _plate(x, z - 0.12, 0.35, height - 0.95, height, head, Class.TRAFFIC_LIGHT)
    return Thing((pole, light), Zone.SIDEWALK, (x, z, x, z))


Layers = list[tuple[Texture, int]]


def box_faces(
    x: float,
    z: float,
    length: float,
    width: float,
    height: float,
    neg_z: Layers,
    pos_z: Layers,
    pos_x: Layers,
    neg_x: Layers,
) -> list[Quad]:
    """The four upright faces of a box centred at (x, z), long along z, each seen from outside.

    A face is a list of (texture, label) layers drawn in order (a bicycle, then its rider).
    """
    hx, hz = width / 2, length / 2
    faces = (
        ((x - hx, z - hz), (x + hx, z - hz), neg_z),
        ((x + hx, z + hz), (x - hx, z + hz), pos_z),
        ((x + hx, z - hz), (x + hx, z + hz), pos_x),
        ((x - hx, z + hz), (x - hx, z - hz), neg_x),
    )
    return [
        vertical_quad(a, b, 0.0, height, texture, label)
        for a, b, layers in faces
        for texture, label in layers
    ]


def vehicle(x: float, z: float, heading: float, look: VehicleLook) -> Thing:
    """A vehicle driving towards +z (heading 1) or -z (heading -1)."""
    ahead, behind = [(look.front, look.kind)], [(look.rear, look.kind)]
    # ``side`` shows the right flank with the front to the right, as the +x face does when heading +z
    plain, mirrored = [(look.side, look.kind)], [(look.side_mirrored, look.kind)]
    if heading > 0:
        quads = box_faces(x, z, look.length, look.width, look.height, behind, ahead, plain, mirrored)
    else:
        quads = box_faces(x, z, look.length, look.width, look.height, ahead, behind, mirrored, plain)
    hz = look.length / 2
    return Thing(tuple(quads), Zone.ROAD, (x, z - hz, x, z + hz))


def cyclist(x: float, z: float, look: CyclistLook) -> Thing:
    """A cyclist riding towards +z."""
    side = [(look.side_bicycle, Class.BICYCLE), (look.side_rider, Class.RIDER)]
    other = [(look.other_bicycle, Class.BICYCLE), (look.other_rider, Class.RIDER)]
    rear = [(look.rear_bicycle, Class.BICYCLE), (look.rear_rider, Class.RIDER)]
    quads = box_faces(x, z, look.length, look.width, look.height, rear, rear, side, other)
    hz = look.length / 2
    return Thing(tuple(quads), Zone.ROAD, (x, z - hz, x, z + hz))


def pedestrian(eye: np.ndarray, x: float, z: float, walked: float, look: PersonLook) -> Thing:
    """A person facing the camera; ``walked`` (m) picks the pose of the walking cycle."""
    stride = 1.3 * look.height / 1.75
    pose = look.poses[int(walked / stride * PHASES) % PHASES]
    quad = billboard(eye, x, z, look.width, 0.0, look.height, pose, Class.PERSON)
    return Thing((quad,), Zone.SIDEWALK, (x, z, x, z))


def parked_bicycle(side: int, x: float, z: float, look: CyclistLook) -> Thing:
    """A bicycle standing along the sidewalk, seen side-on."""
    half = look.length / 2
    a, b = ((x, z + half), (x, z - half)) if side == 1 else ((x, z - half), (x, z + half))
    quad = vertical_quad(a, b, 0.0, look.height, look.side_bicycle, Class.BICYCLE)
    return Thing((quad,), Zone.SIDEWALK, (x, z - half, x, z + half))
