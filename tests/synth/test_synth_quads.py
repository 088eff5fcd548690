"""Drawing textured quads: exact coverage, culling, near-plane clipping, alpha, seamless tiles."""

from __future__ import annotations

import numpy as np
import pytest

from warp_refine_ros.synth.camera import Pose, intrinsics, rotation
from warp_refine_ros.synth.quads import Quad, QuadPainter, vertical_quad
from warp_refine_ros.synth.texture import Texture

W, H = 160, 120
CAMERA = intrinsics(W, H, 90.0)  # focal 80 px, principal point (79.5, 59.5)
EYE = Pose(np.zeros(3), rotation(0.0, 0.0, 0.0))
BACKGROUND = 255


def canvas() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((H, W, 3), np.uint8), np.full((H, W), BACKGROUND, np.uint8)


def flat(colour: tuple[int, int, int], alpha: np.ndarray | None = None, size: int = 32) -> Texture:
    return Texture.from_rgb(np.full((size, size, 3), colour, np.float32), alpha)


def facing_quad(
    x0: float, x1: float, y0: float, y1: float, depth: float, texture: Texture, label: int
) -> Quad:
    """A quad at constant depth facing the camera, x0..x1 right, y0..y1 down (metres)."""
    return Quad(
        np.array([x0, y0, depth]),
        np.array([x1 - x0, 0.0, 0.0]),
        np.array([0.0, y1 - y0, 0.0]),
        texture,
        label,
    )


def pixels_inside(x0: float, x1: float, y0: float, y1: float, depth: float) -> np.ndarray:
    """Pixels whose centres project inside the rectangle, from the pinhole model alone."""
    f, cx, cy = CAMERA[0, 0], CAMERA[0, 2], CAMERA[1, 2]
    u, v = np.meshgrid(np.arange(W), np.arange(H))
    x, y = (u - cx) * depth / f, (v - cy) * depth / f
    return (x > x0) & (x < x1) & (y > y0) & (y < y1)


def test_a_quad_covers_exactly_its_projection() -> None:
    image, labels = canvas()
    quad = facing_quad(-1.03, 0.77, -0.52, 0.61, 4.0, flat((200, 40, 10)), 13)
    QuadPainter(CAMERA, W, H).draw(image, labels, [quad], EYE)
    covered = labels == 13
    truth = pixels_inside(-1.03, 0.77, -0.52, 0.61, 4.0)
    assert covered[truth].all(), "every pixel centre inside the outline is labelled"
    assert (covered & ~truth).sum() <= 2 * (
        truth.sum(axis=0).max() + truth.sum(axis=1).max()
    )  # edge pixels only
    np.testing.assert_array_equal(image[truth], np.broadcast_to([200, 40, 10], image[truth].shape))
    assert (image[~covered] == 0).all() and (labels[~covered] == BACKGROUND).all()


def test_far_to_near_order_decides_occlusion() -> None:
    image, labels = canvas()
    far = facing_quad(-2.0, 2.0, -1.0, 1.0, 8.0, flat((0, 0, 200)), 2)
    near = facing_quad(-0.2, 0.2, -0.2, 0.2, 2.0, flat((200, 0, 0)), 5)
    QuadPainter(CAMERA, W, H).draw(image, labels, [far, near], EYE)
    assert labels[int(CAMERA[1, 2]), int(CAMERA[0, 2])] == 5
    assert labels[55, 62] == 2  # beside the near quad, inside the far one


def test_faces_seen_from_behind_are_culled() -> None:
    painter = QuadPainter(CAMERA, W, H)
    front = vertical_quad((-1.0, 5.0), (1.0, 5.0), -1.0, 1.0, flat((90, 90, 90)), 2)  # seen from z < 5
    back = vertical_quad((1.0, 5.0), (-1.0, 5.0), -1.0, 1.0, flat((90, 90, 90)), 2)
    image, labels = canvas()
    painter.draw(image, labels, [back], EYE)
    assert (labels == BACKGROUND).all()
    painter.draw(image, labels, [front], EYE)
    assert (labels == 2).sum() > 100


def test_ground_passing_under_the_camera_is_clipped_at_the_near_plane() -> None:
    """A ground quad from 5 m behind to 30 m ahead, 1.5 m below the eye: only below the horizon."""
    ground = Quad(
        np.array([-4.0, 1.5, 30.0]),
        np.array([8.0, 0.0, 0.0]),
        np.array([0.0, 0.0, -35.0]),
        flat((60, 60, 60)),
        0,
    )
    image, labels = canvas()
    QuadPainter(CAMERA, W, H).draw(image, labels, [ground], EYE)
    horizon = CAMERA[1, 2]
    rows = np.flatnonzero((labels == 0).any(axis=1))
    assert rows.min() > horizon, "nothing of the ground above the horizon"
    assert rows.max() == H - 1, "the ground reaches the bottom of the image"
    # at 30 m the far edge is 1.5 * 80 / 30 = 4 px below the horizon
    assert abs(rows.min() - (horizon + 4.0)) <= 1.0


def test_alpha_cuts_the_outline() -> None:
    alpha = np.zeros((32, 32), np.float32)
    alpha[:, 16:] = 1.0  # right half opaque
    image, labels = canvas()
    quad = facing_quad(-1.0, 1.0, -1.0, 1.0, 4.0, flat((0, 200, 0), alpha), 8)
    QuadPainter(CAMERA, W, H).draw(image, labels, [quad], EYE)
    cols = np.flatnonzero((labels == 8).any(axis=0))
    assert cols.min() >= CAMERA[0, 2] - 1 and cols.max() <= CAMERA[0, 2] + 80 * 1.0 / 4.0 + 1
    assert (image[labels == 8] == [0, 200, 0]).all(), "no dark fringe from transparent texels"


@pytest.mark.parametrize("cut", [0.1234, 0.5, 0.777])
def test_tiles_sharing_an_edge_leave_no_hole(cut: float) -> None:
    image, labels = canvas()
    left = facing_quad(-1.0, cut, -1.0, 1.0, 3.0, flat((10, 10, 10)), 2)
    right = facing_quad(cut, 1.5, -1.0, 1.0, 3.0, flat((20, 20, 20)), 2)
    QuadPainter(CAMERA, W, H).draw(image, labels, [left, right], EYE)
    union = pixels_inside(-1.0, 1.5, -1.0, 1.0, 3.0)
    assert (labels[union] == 2).all()


def test_quads_behind_or_beside_the_camera_draw_nothing() -> None:
    image, labels = canvas()
    behind = facing_quad(-1.0, 1.0, -1.0, 1.0, -3.0, flat((5, 5, 5)), 1)
    aside = facing_quad(50.0, 52.0, -1.0, 1.0, 3.0, flat((5, 5, 5)), 1)
    QuadPainter(CAMERA, W, H).draw(image, labels, [behind, aside], EYE)
    assert (labels == BACKGROUND).all()
