"""Synthetic drives: a street seen from a moving vehicle camera, with the exact class of every pixel.

The demo and test data of the package. A drive is a pure function of its ``DriveConfig``: the seed
picks the street, its buildings and traffic, their colours and the camera's sway, so different seeds
give different drives (train versus held-out) and the same seed always gives the same frames.
"""

from __future__ import annotations

from warp_refine_ros.synth.config import Drive, DriveConfig, SynthError, SynthFrame
from warp_refine_ros.synth.drive import iter_drive, render_drive
from warp_refine_ros.synth.files import DriveFiles, write_drive

__all__ = [
    "Drive",
    "DriveConfig",
    "DriveFiles",
    "SynthError",
    "SynthFrame",
    "iter_drive",
    "render_drive",
    "write_drive",
]
