"""The street plan and the per-pixel ground: each ground pixel has the class of its ray's hit point."""

from __future__ import annotations

import numpy as np

from warp_refine_ros.synth.camera import Pose, intrinsics, rotation
from warp_refine_ros.synth.classes import Class
from warp_refine_ros.synth.ground import GROUND_LABEL, GroundRenderer
from warp_refine_ros.synth.layout import CURB, Cell, GroundPlan, Intersection, Material, Street, Surface

STREET = Street(
    lane_width=3.2,
    road_half=3.2,
    verge=(0.0, 1.5),
    sidewalk=(2.5, 3.0),
    setback=(0.0, 2.0),
    dashed_centre=True,
    edge_lines=True,
)


def make_plan() -> GroundPlan:
    crossing = Intersection(60.0, 74.0, 3.0)
    lawn = Surface(1, 0.0, 40.0, Material.GRASS)
    plaza = Surface(1, 40.0, 60.0, Material.PLAZA)
    return GroundPlan(STREET, -20.0, 400.0, [crossing], [lawn, plaza], default=Material.DIRT)


def test_cross_section() -> None:
    plan = make_plan()
    x = np.array(
        [0.0, 3.1, 3.3, 3.2 + CURB + 0.5, 3.2 + CURB + 1.6, 3.2 + CURB + 1.5 + 3.1, -3.3, -5.0, -9.0]
    )
    material, kind = plan.lookup(x, np.full_like(x, 20.0))
    assert list(material) == [
        Material.ASPHALT,
        Material.ASPHALT,
        Material.CURB,
        Material.GRASS,  # right verge
        Material.PAVERS,
        Material.GRASS,  # the lawn beyond the right sidewalk
        Material.CURB,
        Material.PAVERS,  # left sidewalk, no verge
        Material.DIRT,  # left side's default surface
    ]
    assert (kind == Cell.PLAIN).all()
    material, _ = plan.lookup(np.array([9.5]), np.array([50.0]))
    assert material[0] == Material.PLAZA


def test_intersection() -> None:
    plan = make_plan()
    x = np.array([-30.0, 0.0, 30.0])
    inside, kind = plan.lookup(x, np.full(3, 67.0))
    assert (inside == Material.ASPHALT).all() and (kind == Cell.JUNCTION).all(), "the cross street"
    band, kind = plan.lookup(x, np.full(3, 61.0))
    assert list(band) == [Material.PAVERS, Material.ASPHALT, Material.PAVERS]
    assert (kind == Cell.CROSSING).all(), "zebra crossing with the cross street's sidewalks"


def test_ground_labels_follow_the_plan_exactly() -> None:
    """Intersect each pixel's ray with y = 0 independently (float64) and look the class up in the plan."""
    width, height = 200, 150
    camera = intrinsics(width, height, 75.0)
    plan = make_plan()
    renderer = GroundRenderer(plan, camera, width, height, np.random.default_rng(0))
    pose = Pose(np.array([1.6, -1.4, 30.0]), rotation(0.05, -0.02, 0.01))
    image = np.zeros((height, width, 3), np.uint8)
    labels = np.full((height, width), Class.SKY, np.uint8)
    renderer.draw(image, labels, pose)

    u, v = np.meshgrid(np.arange(width), np.arange(height))
    rays = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(camera).T @ pose.rotation.T
    hits = rays[..., 1] > 1.4 / 1500.0
    scale = 1.4 / np.where(hits, rays[..., 1], 1.0)
    x = pose.position[0] + scale * rays[..., 0]
    z = pose.position[2] + scale * rays[..., 2]
    material, _ = plan.lookup(x.astype(np.float32), z.astype(np.float32))
    expected = np.where(hits, GROUND_LABEL[material], Class.SKY)
    assert (labels == expected).mean() > 0.995  # only pixels straddling a boundary may round the other way
    assert (labels[~hits] == Class.SKY).all(), "nothing drawn above the horizon"
    assert set(np.unique(labels[hits])) == {Class.ROAD, Class.SIDEWALK, Class.TERRAIN}
    assert image[hits].std() > 5, "the ground is textured"
