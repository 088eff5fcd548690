"""The ground plane, drawn per pixel: each pixel's ray meets y = 0 at (x, z); the street plan says which
material is there, and world-anchored noise and paint give it a look that moves exactly with the ground.

Detail finer than a pixel's footprint on the ground is faded out (analytic anti-aliasing), so the far
road does not shimmer from frame to frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from warp_refine_ros.synth.camera import Pose
from warp_refine_ros.synth.classes import Class
from warp_refine_ros.synth.layout import Cell, GroundPlan, Material

GROUND_LABEL = np.zeros(256, np.uint8)
GROUND_LABEL[[Material.ASPHALT]] = Class.ROAD
GROUND_LABEL[[Material.CURB, Material.PAVERS, Material.PLAZA]] = Class.SIDEWALK
GROUND_LABEL[[Material.GRASS, Material.DIRT]] = Class.TERRAIN

OCTAVES = (0.035, 0.14, 0.6, 3.0)
"""Feature sizes (m) of the world-anchored noise octaves."""
TINT_OCTAVE = 2
"""The octave that also shifts colour (dry and lush patches of a lawn)."""
TABLE = 256
"""Side of the periodic noise tables, in noise cells."""
MAX_DISTANCE = 1500.0
"""Ground farther than this (m) is left to the distant skyline."""


@dataclass(frozen=True)
class Look:
    """How one material looks: base colour, noise gain per octave, colour shift, optional joint grid."""

    base: tuple[float, float, float]
    gains: tuple[float, float, float, float]
    chroma: tuple[float, float, float] = (0.0, 0.0, 0.0)
    grid: float = 0.0
    """Joint spacing (m) of pavers or slabs; 0 for none."""


def random_looks(rng: np.random.Generator) -> dict[Material, Look]:
    """Per-drive palette: asphalt shade, paver colour and size, lawn colour all vary with the seed."""
    grey = rng.uniform(72, 118)
    tint = rng.normal(0, 4, 3)
    paver = [(150, 150, 146), (182, 166, 140), (156, 104, 88), (128, 128, 136)][rng.integers(4)]
    grass = np.array([rng.uniform(58, 95), rng.uniform(92, 130), rng.uniform(30, 60)])
    return {
        Material.ASPHALT: Look(tuple(grey + tint), (0.12, 0.11, 0.1, 0.07)),
        Material.CURB: Look(tuple(rng.uniform(150, 185, 3).mean() + tint), (0.06, 0.06, 0.04, 0.03)),
        Material.PAVERS: Look(
            tuple(np.array(paver) * rng.uniform(0.85, 1.1)),
            (0.07, 0.09, 0.06, 0.04),
            grid=rng.uniform(0.3, 0.6),
        ),
        Material.GRASS: Look(tuple(grass), (0.22, 0.14, 0.1, 0.08), chroma=(18.0, 6.0, -4.0)),
        Material.DIRT: Look(tuple(rng.uniform([110, 88, 62], [140, 112, 82])), (0.14, 0.12, 0.08, 0.06)),
        Material.PLAZA: Look(
            tuple(rng.uniform(160, 195, 3) * [1.0, 0.98, 0.93]), (0.05, 0.06, 0.05, 0.04), grid=1.2
        ),
    }


def _table256(rows: list) -> np.ndarray:
    """Stack per-material values into a (256, ...) float32 table, zeros after the last material."""
    values = np.asarray(rows, np.float32)
    table = np.zeros((256, *values.shape[1:]), np.float32)
    table[: len(values)] = values
    return table


def _wrap(value: np.ndarray, period: np.ndarray | float) -> np.ndarray:
    """``value mod period`` in [0, period) (np.mod is an order of magnitude slower)."""
    return value - np.floor(value / period) * period


def _coverage(distance: np.ndarray, half: float, inverse_footprint: np.ndarray) -> np.ndarray:
    """Fraction of a pixel covered by a band |distance| < half, for a pixel 1 / ``inverse_footprint`` wide."""
    return np.clip((np.float32(half) - np.abs(distance)) * inverse_footprint + np.float32(0.5), 0.0, 1.0)


class GroundRenderer:
    """Renders the ground plane of a street plan for one camera."""

    def __init__(
        self, plan: GroundPlan, camera: np.ndarray, width: int, height: int, rng: np.random.Generator
    ) -> None:
        self.plan = plan
        self.focal = float(camera[0, 0])
        u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
        rays = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(camera).T
        self.rays = rays.astype(np.float32)  # (H, W, 3) camera-frame ray of each pixel
        self.lengths = np.linalg.norm(rays, axis=-1).astype(np.float32)
        self.tables = [self._table(rng) for _ in OCTAVES]
        palette = random_looks(rng)
        looks = [palette[material] for material in Material]  # in Material value order
        # per-material tables, padded to 256 entries for cv2.LUT on the material image
        self.base = _table256([look.base for look in looks])
        self.gains = _table256([look.gains for look in looks]).T.copy()  # (octave, 256)
        self.chroma = _table256([look.chroma for look in looks])
        self.grid = _table256([look.grid for look in looks])
        self.paint = np.array([232, 232, 226] if rng.random() < 0.6 else [226, 190, 60], np.float32)
        self.centre_paint = np.array([226, 190, 60], np.float32) if rng.random() < 0.4 else self.paint

    @staticmethod
    def _table(rng: np.random.Generator) -> np.ndarray:
        """Periodic smooth noise (TABLE x TABLE) of unit variance; bilinear lookups look like value noise."""
        pad = 4
        table = np.pad(rng.standard_normal((TABLE, TABLE)).astype(np.float32), pad, mode="wrap")
        table = cv2.GaussianBlur(table, (0, 0), 1.0)[pad:-pad, pad:-pad]
        return np.ascontiguousarray(table / table.std())

    def draw(self, image: np.ndarray, labels: np.ndarray, pose: Pose) -> None:
        """Paint the ground over every pixel whose ray hits it within MAX_DISTANCE."""
        height = -float(pose.position[1])
        rotation = pose.rotation.astype(np.float32)
        # rays are affine in the column, so each row's steepest ray is at one of its two ends
        rows = np.flatnonzero((self.rays[:, [0, -1]] @ rotation[1]).max(axis=1) > height / MAX_DISTANCE)
        if rows.size == 0:
            return
        r0 = int(rows[0])
        d = cv2.transform(self.rays[r0:], rotation)  # world-frame ray directions
        dy = d[..., 1]
        valid = dy > height / MAX_DISTANCE
        lam = height / np.maximum(dy, np.float32(height / MAX_DISTANCE))
        x, z = lam * d[..., 0], lam * d[..., 2]  # ground point relative to the camera
        dist = lam * self.lengths[r0:]
        fp_lateral = dist * np.float32(1.0 / self.focal)  # metres per pixel across the view ...
        fp_along = fp_lateral * dist * np.float32(1.0 / height)  # ... and along it, foreshortened
        fp = np.sqrt(fp_lateral * fp_along)
        cx, cz = float(pose.position[0]), float(pose.position[2])
        wx, wz = x + np.float32(cx), z + np.float32(cz)
        material, kind = self.plan.lookup(wx, wz)

        shade = np.ones_like(x)
        tint = np.zeros_like(x)
        nearest = fp.min(axis=1)
        for octave, size in enumerate(OCTAVES):
            seen = np.flatnonzero(nearest < size)  # fine octaves only matter near the camera
            if seen.size == 0:
                continue
            r = int(seen[0])
            noise = self._noise(self.tables[octave], size, x[r:], z[r:], cx, cz)
            noise *= np.clip(2.0 - fp[r:] * np.float32(2.0 / size), 0.0, 1.0)
            shade[r:] += cv2.LUT(material[r:], self.gains[octave]) * noise
            if octave == TINT_OCTAVE:
                tint[r:] = noise
        inv_lateral, inv_along = 1.0 / fp_lateral, 1.0 / fp_along
        self._joints(shade, wx, wz, material, inv_lateral, inv_along)
        channels = [
            cv2.LUT(material, self.base[:, c]) * shade + cv2.LUT(material, self.chroma[:, c]) * tint
            for c in range(3)
        ]
        self._paint(channels, wx, wz, material, kind, inv_lateral, inv_along, shade)
        mask = valid.view(np.uint8)
        cv2.copyTo(np.clip(cv2.merge(channels), 0, 255).astype(np.uint8), mask, image[r0:])
        cv2.copyTo(cv2.LUT(material, GROUND_LABEL), mask, labels[r0:])

    @staticmethod
    def _noise(
        table: np.ndarray, size: float, x: np.ndarray, z: np.ndarray, cx: float, cz: float
    ) -> np.ndarray:
        """World-anchored noise of feature ``size`` at camera-relative ground points; (cx, cz) = camera."""
        cell = size / 2.0  # the table's blur makes features about two cells wide
        scale = np.float32(1.0 / cell)
        # coordinates inside the table keep remap on its fast path; WRAP joins the last texel to the first
        mx = _wrap(x * scale + np.float32((cx / cell) % TABLE), np.float32(TABLE))
        mz = _wrap(z * scale + np.float32((cz / cell) % TABLE), np.float32(TABLE))
        return cv2.remap(table, mx, mz, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)

    def _joints(
        self,
        shade: np.ndarray,
        wx: np.ndarray,
        wz: np.ndarray,
        material: np.ndarray,
        inv_lateral: np.ndarray,
        inv_along: np.ndarray,
    ) -> None:
        """Darken the joints between pavers and slabs, where they are wider than a tenth of a pixel."""
        grid = cv2.LUT(material, self.grid)
        near = np.flatnonzero(((grid > 0) & (inv_lateral > 5.0)).any(axis=1))
        if near.size == 0:
            return
        r = int(near[0])
        grid, wx, wz = grid[r:], wx[r:], wz[r:]
        period = np.where(grid > 0, grid, np.float32(1.0))
        jx = np.abs(_wrap(wx, period) - 0.5 * period)
        jz = np.abs(_wrap(wz, period) - 0.5 * period)
        joint = np.maximum(
            _coverage(0.5 * period - jx, 0.012, inv_lateral[r:]),
            _coverage(0.5 * period - jz, 0.012, inv_along[r:]),
        )
        shade[r:] *= 1.0 - 0.35 * joint * (grid > 0)

    def _paint(
        self,
        channels: list[np.ndarray],
        x: np.ndarray,
        z: np.ndarray,
        material: np.ndarray,
        kind: np.ndarray,
        inv_lateral: np.ndarray,
        inv_along: np.ndarray,
        shade: np.ndarray,
    ) -> None:
        """Lane markings and zebra crossings, blended by pixel coverage (paint is still road)."""
        s = self.plan.street
        asphalt = material == Material.ASPHALT
        plain = asphalt & (kind == Cell.PLAIN)
        ax = np.abs(x)
        if s.dashed_centre:
            centre = _coverage(x, 0.06, inv_lateral) * _coverage(_wrap(z, 6.0) - 1.5, 1.5, inv_along)
        else:
            centre = np.maximum(_coverage(x - 0.1, 0.05, inv_lateral), _coverage(x + 0.1, 0.05, inv_lateral))
        lines = _coverage(_wrap(x, 1.0) - 0.5, 0.25, inv_lateral) * (
            asphalt & (kind == Cell.CROSSING) & (ax < s.road_half - 0.4)
        )
        if s.edge_lines or s.parking > 0:
            edge_at = s.lane_width if s.parking > 0 else s.road_half - 0.3
            lines = np.maximum(lines, _coverage(ax - edge_at, 0.06, inv_lateral) * plain)
        brightness = 0.55 + 0.45 * shade
        for amount, paint in ((lines, self.paint), (centre * plain, self.centre_paint)):
            weight = np.float32(0.85) * amount
            for channel, value in zip(channels, paint, strict=True):
                channel += weight * (value * brightness - channel)
