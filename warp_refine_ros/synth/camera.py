"""Pinhole camera and the ego vehicle's motion.

World frame: x right of the road, y down (the ground is y = 0, the camera sits at y = -height), z along
the road. The camera frame has the same axes when the vehicle looks straight ahead, so a pose is a
position ``C`` and a camera-to-world rotation ``R``; a world point P projects to ``K R^T (P - C)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from warp_refine_ros.synth.config import DriveConfig
from warp_refine_ros.synth.stops import drive_time


def intrinsics(width: int, height: int, hfov_deg: float) -> np.ndarray:
    """K (3, 3) with square pixels and the principal point at the image centre."""
    focal = 0.5 * width / math.tan(math.radians(hfov_deg) / 2.0)
    return np.array([[focal, 0.0, 0.5 * (width - 1)], [0.0, focal, 0.5 * (height - 1)], [0.0, 0.0, 1.0]])


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Camera-to-world rotation: yaw > 0 turns right, pitch > 0 looks up, roll about the view axis."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    r_yaw = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    r_pitch = np.array([[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]])
    r_roll = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return r_yaw @ r_pitch @ r_roll


@dataclass(frozen=True)
class Pose:
    """Camera position (3,) in world metres and camera-to-world rotation (3, 3)."""

    position: np.ndarray
    rotation: np.ndarray


class EgoMotion:
    """A vehicle driving along its lane: steady speed with slow surges, pan, sway, road bounce and stops.

    Every term is a sum of sines with seeded phases, so the pose at any time is a pure function.
    """

    def __init__(self, config: DriveConfig, lane_x: float, rng: np.random.Generator) -> None:
        self.speed = config.speed_mps
        self.stops = config.stops
        self.height = config.camera_height_m
        self.lane_x = lane_x
        self.phase = rng.uniform(0.0, 2.0 * math.pi, size=8)
        self.bounce_hz = rng.uniform(1.1, 1.8)
        self.pan = rng.uniform(0.02, 0.045)  # rad
        self.tilt = rng.uniform(-0.035, -0.01)  # slight downward mount, rad

    def forward(self, t: float) -> float:
        """Distance along the road at clock time t."""
        return self._travel(drive_time(t, self.stops))

    def _travel(self, t: float) -> float:
        """Distance along the road at drive time t: speed * t with a +-4 % surge."""
        surge = 0.04 * self.speed / 0.35
        return self.speed * t + surge * (math.sin(0.35 * t + self.phase[0]) - math.sin(self.phase[0]))

    def pose(self, clock_t: float) -> Pose:
        """Camera pose at clock time ``clock_t`` (s); it stands still while the vehicle waits at a stop."""
        t = drive_time(clock_t, self.stops)
        p = self.phase
        moving = min(1.0, self.speed / 3.0)  # a parked vehicle neither sways nor bounces much
        bounce = moving * 0.025 * math.sin(2.0 * math.pi * self.bounce_hz * t + p[1])
        sway = moving * 0.18 * math.sin(0.23 * t + p[2])
        position = np.array([self.lane_x + sway, -self.height + bounce, self._travel(t)])
        yaw = self.pan * math.sin(0.19 * t + p[3]) + 0.35 * self.pan * math.sin(0.61 * t + p[4])
        pitch = self.tilt + moving * 0.006 * math.sin(2.0 * math.pi * self.bounce_hz * t + p[1] + 0.8)
        roll = moving * 0.005 * math.sin(2.0 * math.pi * 0.7 * self.bounce_hz * t + p[5])
        return Pose(position, rotation(yaw, pitch, roll))
