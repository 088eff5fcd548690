"""What a synthetic drive is: its configuration, its frames, and the error raised for a bad configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from warp_refine_ros.errors import WarpRefineError

EPOCH_NS = 1_700_000_000 * 1_000_000_000
"""Header stamp of frame 0: a fixed, realistic wall-clock time (2023-11-14T22:13:20Z)."""


class SynthError(WarpRefineError):
    """A synthetic drive was asked for with impossible settings."""


@dataclass(frozen=True)
class DriveConfig:
    """Everything that decides a drive; the same config always renders the same frames."""

    width: int = 640
    height: int = 480
    frames: int = 200
    fps: float = 10.0
    seed: int = 0
    speed_mps: float = 8.0
    hfov_deg: float = 70.0
    camera_height_m: float = 1.4
    noise_sigma: float = 2.0
    """Standard deviation of the per-frame sensor noise, in 8-bit grey levels."""
    illumination: float = 0.12
    """Relative amplitude of the slow exposure and white-balance drift over the drive."""
    view_distance_m: float = 130.0
    """Objects (cars, people, poles, ...) farther than this are not drawn; buildings reach twice as far."""
    start_ns: int = EPOCH_NS

    def __post_init__(self) -> None:
        checks = [
            (
                self.width >= 16 and self.height >= 16,
                f"width={self.width}, height={self.height} (need >= 16 each)",
            ),
            (self.frames >= 1, f"frames={self.frames} (need >= 1)"),
            (self.fps > 0, f"fps={self.fps} (need > 0)"),
            (0.0 <= self.speed_mps <= 40.0, f"speed_mps={self.speed_mps} (need 0..40)"),
            (10.0 <= self.hfov_deg <= 150.0, f"hfov_deg={self.hfov_deg} (need 10..150)"),
            (0.3 <= self.camera_height_m <= 5.0, f"camera_height_m={self.camera_height_m} (need 0.3..5)"),
            (self.noise_sigma >= 0, f"noise_sigma={self.noise_sigma} (need >= 0)"),
            (0.0 <= self.illumination < 0.5, f"illumination={self.illumination} (need 0..0.5)"),
            (self.view_distance_m >= 20.0, f"view_distance_m={self.view_distance_m} (need >= 20)"),
            (self.start_ns >= 0, f"start_ns={self.start_ns} (need >= 0)"),
        ]
        bad = [text for ok, text in checks if not ok]
        if bad:
            raise SynthError("invalid drive configuration: " + "; ".join(bad))

    @property
    def duration_s(self) -> float:
        """Length of the drive in seconds."""
        return self.frames / self.fps

    def stamp_ns(self, index: int) -> int:
        """Header stamp of frame ``index``: start + index / fps, rounded to the nanosecond."""
        return self.start_ns + round(index * 1e9 / self.fps)


@dataclass(frozen=True)
class SynthFrame:
    """One rendered frame: RGB image (H, W, 3) uint8 and its exact class ids (H, W) uint8."""

    index: int
    stamp_ns: int
    image: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Drive:
    """A whole drive held in memory; convenient for tests and short sequences."""

    config: DriveConfig
    frames: list[SynthFrame]
