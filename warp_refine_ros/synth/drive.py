"""Rendering a drive: the street, the ego vehicle's camera, and the frames it sees."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from warp_refine_ros.synth.camera import EgoMotion, intrinsics
from warp_refine_ros.synth.classes import Class
from warp_refine_ros.synth.config import Drive, DriveConfig, SynthFrame
from warp_refine_ros.synth.ground import GroundRenderer
from warp_refine_ros.synth.layout import Street
from warp_refine_ros.synth.quads import QuadPainter
from warp_refine_ros.synth.sensor import Sensor
from warp_refine_ros.synth.world import World

SHUTTER_OFFSETS = (-0.5, -0.25, 0.0, 0.25, 0.5)
"""Sub-exposures of a motion-blurred frame, as fractions of the open time around the frame's instant."""


class Scene:
    """Everything needed to render any frame of one drive; building it draws the textures once."""

    def __init__(self, config: DriveConfig) -> None:
        self.config = config
        street = Street.random(np.random.default_rng([config.seed, 1]))
        self.ego = EgoMotion(config, street.lane_width / 2, np.random.default_rng([config.seed, 6]))
        self.world = World(config, self.ego.forward, street.lane_width / 2, street)
        self.camera = intrinsics(config.width, config.height, config.hfov_deg)
        self.ground = GroundRenderer(
            self.world.ground,
            self.camera,
            config.width,
            config.height,
            np.random.default_rng([config.seed, 7]),
        )
        self.painter = QuadPainter(self.camera, config.width, config.height)
        self.sensor = Sensor(config, np.random.default_rng([config.seed, 8]))

    def render(self, index: int) -> SynthFrame:
        """Frame ``index``: the camera image and the exact class of every pixel (at mid-exposure)."""
        cfg = self.config
        t = index / cfg.fps
        image, labels = self.draw(t)
        if cfg.shutter > 0:  # the shutter stays open while the camera and the traffic move: average
            open_s = cfg.shutter / cfg.fps
            shots = [self.draw(t + open_s * f)[0] if f else image for f in SHUTTER_OFFSETS]
            image = np.mean(shots, axis=0, dtype=np.float32)
        return SynthFrame(index, cfg.stamp_ns(index), self.sensor.capture(image, t, index), labels)

    def draw(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The scene at time t as light reaching the lens (H, W, 3) uint8, and its classes (H, W) uint8."""
        cfg = self.config
        pose = self.ego.pose(t)
        image = np.zeros((cfg.height, cfg.width, 3), np.uint8)
        labels = np.full((cfg.height, cfg.width), Class.SKY, np.uint8)
        self.painter.draw(image, labels, self.world.backdrop, pose)
        self.ground.draw(image, labels, pose)
        quads = [quad for thing in self.world.things(t, pose.position) for quad in thing.quads]
        self.painter.draw(image, labels, quads, pose)
        return image, labels


def iter_drive(config: DriveConfig) -> Iterator[SynthFrame]:
    """Render the frames of a drive one at a time (a long drive never sits in memory)."""
    scene = Scene(config)
    for index in range(config.frames):
        yield scene.render(index)


def render_drive(config: DriveConfig) -> Drive:
    """All frames of a drive in a list; for tests and short sequences."""
    return Drive(config, list(iter_drive(config)))
