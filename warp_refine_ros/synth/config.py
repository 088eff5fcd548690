"""What a synthetic drive is: its configuration, its frames, and the error raised for a bad configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from warp_refine_ros.errors import WarpRefineError
from warp_refine_ros.synth.stops import stop_checks

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
    stops: tuple[tuple[float, float], ...] = ()
    """(start_s, seconds) the vehicle stands still, braking before and pulling away after (``stops.py``)."""
    # --- camera look; the defaults are the look the shipped models were trained on ---
    exposure: float = 1.0
    """Global exposure gain on top of the seed's own (0.5 = one stop darker)."""
    gamma: float = 1.0
    """Tone curve ``out = 255 (in / 255) ^ (1 / gamma)``: above 1 lifts the shadows, below 1 deepens them."""
    hue_deg: float = 0.0
    """Colour grade: rotation of every hue about the grey axis, in degrees."""
    saturation: float = 1.0
    """Colour grade: 0 = grey, 1 = as rendered, above 1 = more vivid."""
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Colour cast: gains on R, G, B (e.g. (1.15, 1.0, 0.8) a warm, uncorrected sensor)."""
    defocus_px: float = 0.0
    """Radius of the lens's out-of-focus disk, in pixels (0 = sharp)."""
    shutter: float = 0.0
    """Exposure time as a fraction of the frame interval; above 0 blurs what moves (0 = instantaneous)."""
    chroma_noise: float = 0.0
    """Amplitude of blotchy, low-frequency colour noise, in 8-bit grey levels."""
    row_noise: float = 0.0
    """Standard deviation of per-row read-out offsets (banding), in 8-bit grey levels."""

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
            (0.05 <= self.exposure <= 8.0, f"exposure={self.exposure} (need 0.05..8)"),
            (0.2 <= self.gamma <= 5.0, f"gamma={self.gamma} (need 0.2..5)"),
            (-180.0 <= self.hue_deg <= 180.0, f"hue_deg={self.hue_deg} (need -180..180)"),
            (0.0 <= self.saturation <= 4.0, f"saturation={self.saturation} (need 0..4)"),
            (
                len(self.white_balance) == 3 and all(0.1 <= g <= 4.0 for g in self.white_balance),
                f"white_balance={self.white_balance} (need three gains in 0.1..4)",
            ),
            (0.0 <= self.defocus_px <= 50.0, f"defocus_px={self.defocus_px} (need 0..50)"),
            (0.0 <= self.shutter <= 1.0, f"shutter={self.shutter} (need 0..1)"),
            (self.chroma_noise >= 0, f"chroma_noise={self.chroma_noise} (need >= 0)"),
            (self.row_noise >= 0, f"row_noise={self.row_noise} (need >= 0)"),
            *stop_checks(self.stops),
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
