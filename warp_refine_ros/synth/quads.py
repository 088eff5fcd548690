"""Textured planar quads and how to draw them: one homography per quad, clipped at the near plane.

A quad maps texture parameters (s, t) in [0, 1]^2 to ``origin + s * u + t * v`` in the world. Seen by a
camera (K, R, C) that is the homography ``H = K R^T [u | v | origin - C]`` from the texture to the image,
so ``cv2.warpPerspective`` draws it exactly, with true perspective. A pixel belongs to a quad when its
centre lies inside the projected outline (and, for textures with alpha, where the texture is opaque
enough); pixels and labels are written through that one mask, which is what makes the labels exact.
Adjacent quads share their outline edge, and the rasteriser gives the shared pixels to both (the later
one wins), so a surface cut into tiles has no holes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from warp_refine_ros.synth.camera import Pose
from warp_refine_ros.synth.texture import Texture

NEAR = 0.15
"""Near plane (m): the parts of a quad closer than this to the camera are clipped away."""
COVERAGE = 120
"""Inside the outline, a texture with alpha covers a pixel where its warped alpha is at least this
(of 255): about half coverage."""

UNIT_SQUARE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


@dataclass(frozen=True)
class Quad:
    """A textured parallelogram: texture row direction ``u``, column direction ``v`` (world vectors)."""

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    texture: Texture
    label: int
    cull: bool = False
    """Skip when seen from behind (box faces), i.e. when the camera is on the side of ``v x u`` < 0."""
    at_infinity: bool = False
    """Placed relative to the camera position (sky, distant skyline): rotation moves it, travel does not."""


def vertical_quad(
    left: tuple[float, float],
    right: tuple[float, float],
    bottom: float,
    top: float,
    texture: Texture,
    label: int,
) -> Quad:
    """An upright quad from ground point ``left`` (x, z) to ``right``, between heights ``bottom`` and ``top``.

    ``left`` and ``right`` are as seen by a viewer in front of the quad; culled from behind.
    """
    origin = np.array([left[0], -top, left[1]])
    u = np.array([right[0] - left[0], 0.0, right[1] - left[1]])
    v = np.array([0.0, top - bottom, 0.0])
    return Quad(origin, u, v, texture, label, cull=True)


def billboard(
    eye: np.ndarray, x: float, z: float, width: float, bottom: float, top: float, texture: Texture, label: int
) -> Quad:
    """An upright quad centred on ground point (x, z) that turns to face the eye (people, trunks, poles)."""
    dx, dz = x - eye[0], z - eye[2]
    norm = math.hypot(dx, dz) or 1.0
    rx, rz = dz / norm * width / 2.0, -dx / norm * width / 2.0
    return Quad(
        np.array([x - rx, -top, z - rz]),
        np.array([2.0 * rx, 0.0, 2.0 * rz]),
        np.array([0.0, top - bottom, 0.0]),
        texture,
        label,
    )


def _clip_near(params: list[tuple[float, float]], depth: list[float]) -> list[tuple[float, float]]:
    """Sutherland-Hodgman: keep the part of the polygon with depth >= NEAR (depth is affine in s, t)."""
    out = []
    n = len(params)
    for i in range(n):
        p, q = params[i], params[(i + 1) % n]
        dp, dq = depth[i], depth[(i + 1) % n]
        if dp >= NEAR:
            out.append(p)
        if (dp >= NEAR) != (dq >= NEAR):
            f = (NEAR - dp) / (dq - dp)
            out.append((p[0] + f * (q[0] - p[0]), p[1] + f * (q[1] - p[1])))
    return out


def _clip_box(points: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Clip a convex 2-D polygon (N, 2) to a rectangle, so huge near-plane coordinates stay drawable."""
    poly = [(float(p[0]), float(p[1])) for p in points]
    for axis, bound, keep_above in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        out = []
        for i in range(len(poly)):
            p, q = poly[i], poly[(i + 1) % len(poly)]
            inside_p = (p[axis] >= bound) if keep_above else (p[axis] <= bound)
            inside_q = (q[axis] >= bound) if keep_above else (q[axis] <= bound)
            if inside_p:
                out.append(p)
            if inside_p != inside_q:
                f = (bound - p[axis]) / (q[axis] - p[axis])
                out.append((p[0] + f * (q[0] - p[0]), p[1] + f * (q[1] - p[1])))
        poly = out
        if not poly:
            break
    return np.array(poly, np.float64).reshape(-1, 2)


def _shoelace(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Polygon areas for vertices along the last axis."""
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=-1) - y * np.roll(x, -1, axis=-1), axis=-1))


class QuadPainter:
    """Draws quads into an image and its label map, in the order given (painter's algorithm).

    Culling, clipping tests, projection and mip-level choice run for all quads at once; only the quads
    that reach the image cost a warp.
    """

    def __init__(self, camera: np.ndarray, width: int, height: int) -> None:
        self.camera = camera
        self.width = width
        self.height = height
        self._planes: dict[int, np.ndarray] = {}

    def _plane(self, label: int) -> np.ndarray:
        """A full frame of one label value, to copy through masks."""
        plane = self._planes.get(label)
        if plane is None:
            plane = self._planes[label] = np.full((self.height, self.width), label, np.uint8)
        return plane

    def draw(self, image: np.ndarray, labels: np.ndarray, quads: Sequence[Quad], pose: Pose) -> None:
        """Draw ``quads`` in order over ``image`` (H, W, 3) and ``labels`` (H, W), seen from ``pose``."""
        if not quads:
            return
        origin = np.array([q.origin for q in quads])
        u = np.array([q.u for q in quads])
        v = np.array([q.v for q in quads])
        relative = np.array([not q.at_infinity for q in quads])
        start = origin - relative[:, None] * pose.position
        a, b, c = u @ pose.rotation, v @ pose.rotation, start @ pose.rotation  # camera frame, (N, 3) each
        facing = np.einsum("ij,ij->i", np.cross(v, u), -start) > 0.0
        keep = facing | ~np.array([q.cull for q in quads])
        s = np.array([p[0] for p in UNIT_SQUARE])
        t = np.array([p[1] for p in UNIT_SQUARE])
        corners = (
            c[:, None, :] + s[None, :, None] * a[:, None, :] + t[None, :, None] * b[:, None, :]
        )  # (N, 4, 3)
        depth = corners[..., 2]
        keep &= depth.max(axis=1) >= NEAR
        clipped = depth.min(axis=1) < NEAR
        with np.errstate(divide="ignore", invalid="ignore"):
            proj = corners @ self.camera.T
            px, py = proj[..., 0] / proj[..., 2], proj[..., 1] / proj[..., 2]
            area = _shoelace(px, py)
            x0 = np.floor(np.maximum(px.min(axis=1), 0.0))
            y0 = np.floor(np.maximum(py.min(axis=1), 0.0))
            x1 = np.ceil(np.minimum(px.max(axis=1), self.width - 1.0)) + 1.0
            y1 = np.ceil(np.minimum(py.max(axis=1), self.height - 1.0)) + 1.0
        # smaller than a twentieth of a pixel, or off the image: nothing to draw
        keep &= clipped | ((x1 > x0) & (y1 > y0) & (area > 0.05))
        plain = np.flatnonzero(keep & ~clipped)
        levels = [_level(quads[i].texture, 1.0, max(float(area[i]), 1e-3)) for i in plain]
        sizes = np.array([level.shape[1::-1] for level in levels], np.float64).reshape(-1, 2)
        homographies = self._homographies(a[plain], b[plain], c[plain], sizes, x0[plain], y0[plain])
        polygons = np.stack([px[plain] - x0[plain, None], py[plain] - y0[plain, None]], axis=-1)
        far_out = np.abs(polygons).max(axis=(1, 2)) > 4096.0 if plain.size else np.zeros(0, bool)
        polygons = np.round(polygons * 16.0).astype(np.int32)
        jobs = dict(zip(plain.tolist(), range(plain.size), strict=True))
        for i in np.flatnonzero(keep):
            quad = quads[i]
            if clipped[i]:
                self._draw_clipped(image, labels, quad, a[i], b[i], c[i], depth[i])
                continue
            j = jobs[i]
            box = (int(x0[i]), int(y0[i]), int(x1[i]), int(y1[i]))
            polygon = polygons[j]
            if far_out[j]:  # keep fixed-point rasterisation in range
                clip = _clip_box(np.stack([px[i], py[i]], axis=1), box[0] - 1.0, box[1] - 1.0, box[2], box[3])
                polygon = np.round((clip - box[:2]) * 16.0).astype(np.int32)
            self._paint(image, labels, quad.label, levels[j], homographies[j], box, polygon)

    def _homographies(
        self, a: np.ndarray, b: np.ndarray, c: np.ndarray, sizes: np.ndarray, x0: np.ndarray, y0: np.ndarray
    ) -> np.ndarray:
        """Texture-to-box homographies (N, 3, 3); texel (i, j) centre is at ((i + .5) / tw, (j + .5) / th)."""
        ua, vb = a / sizes[:, :1], b / sizes[:, 1:]
        m = np.stack([ua, vb, c + 0.5 * (ua + vb)], axis=-1)  # (N, 3, 3): columns u/tw, v/th, origin
        h = self.camera @ m
        h[:, 0] -= x0[:, None] * h[:, 2]
        h[:, 1] -= y0[:, None] * h[:, 2]
        return h

    def _draw_clipped(
        self,
        image: np.ndarray,
        labels: np.ndarray,
        quad: Quad,
        a: np.ndarray,
        b: np.ndarray,
        c: np.ndarray,
        depth: np.ndarray,
    ) -> None:
        """A quad crossing the near plane: draw only its part in front of the camera."""
        params = _clip_near(list(UNIT_SQUARE), [float(d) for d in depth])
        cam = np.array([c + s * a + t * b for s, t in params])
        proj = cam @ self.camera.T
        points = _clip_box(proj[:, :2] / proj[:, 2:3], -1.0, -1.0, self.width, self.height)
        if len(points) < 3:
            return
        box = (
            max(0, math.floor(points[:, 0].min())),
            max(0, math.floor(points[:, 1].min())),
            min(self.width, math.ceil(points[:, 0].max()) + 1),
            min(self.height, math.ceil(points[:, 1].max()) + 1),
        )
        if box[2] <= box[0] or box[3] <= box[1]:
            return
        param = np.array(params)
        param_area = float(_shoelace(param[:, 0], param[:, 1]))
        level = _level(quad.texture, param_area, max(float(_shoelace(points[:, 0], points[:, 1])), 1e-3))
        size = np.array([level.shape[1::-1]], np.float64)
        h = self._homographies(a[None], b[None], c[None], size, np.array([box[0]]), np.array([box[1]]))[0]
        polygon = np.round((points - box[:2]) * 16.0).astype(np.int32)
        self._paint(image, labels, quad.label, level, h, box, polygon)

    def _paint(
        self,
        image: np.ndarray,
        labels: np.ndarray,
        label: int,
        level: np.ndarray,
        h: np.ndarray,
        box: tuple[int, int, int, int],
        polygon: np.ndarray,
    ) -> None:
        """Warp the texture into ``box`` (x0, y0, x1, y1) and copy it where the polygon (1/16 px) covers."""
        x0, y0, x1, y1 = box
        size = (x1 - x0, y1 - y0)
        warped = cv2.warpPerspective(level, h, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mask = np.zeros((size[1], size[0]), np.uint8)
        cv2.fillConvexPoly(mask, polygon, 1, cv2.LINE_8, 4)
        if warped.shape[2] == 4:  # RGBA: the texture has see-through parts
            mask &= warped[..., 3] >= COVERAGE
            warped = warped[..., :3]
        cv2.copyTo(warped, mask, image[y0:y1, x0:x1])
        cv2.copyTo(self._plane(label)[y0:y1, x0:x1], mask, labels[y0:y1, x0:x1])


def _level(texture: Texture, param_area: float, pixels: float) -> np.ndarray:
    """The finest mip level with no more than about one texel per pixel."""
    tw, th = texture.size
    ratio = param_area * tw * th / pixels
    index = 0 if ratio <= 1.0 else min(len(texture.levels) - 1, int(0.5 * math.log2(ratio)))
    return texture.levels[index]
