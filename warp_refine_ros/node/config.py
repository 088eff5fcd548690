"""The live session's settings, what it publishes, and its counters: plain values, checked on creation."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from warp_refine_ros.errors import WarpRefineError
from warp_refine_ros.propagation import Source
from warp_refine_ros.propagation.config import ConfigError, PropagationConfig


class SessionError(WarpRefineError):
    """A labeling session was configured or fed with values it cannot use."""


class BeyondRadius(str, Enum):
    """What a frame further than ``radius`` from every keyframe is labeled with."""

    SEMANTIC = "semantic"  # the segmentation engine alone, pixels under 0.9 confidence ignored
    NONE = "none"  # nothing is published for it

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SessionConfig:
    """Settings of a labeling session: the propagation's, as bag_label takes them, and the live
    stream's; every one is checked on creation."""

    propagation: PropagationConfig = field(default_factory=PropagationConfig)
    buffer_size: int = 30  # frames kept for late keyframes and backward passes
    beyond_radius: BeyondRadius = BeyondRadius.NONE
    stamp_tolerance_ns: int = 1_000_000  # a keyframe label matches a frame stamped this close
    max_gap_ns: int = 1_000_000_000  # a longer gap between frames starts over; 0 = never
    keyframe_memory: int = 64  # keyframe labels remembered by stamp (early ones, bag loops)

    def __post_init__(self) -> None:
        if not isinstance(self.propagation, PropagationConfig):
            raise SessionError(f"propagation must be a PropagationConfig, got {self.propagation!r}")
        try:
            object.__setattr__(self, "beyond_radius", BeyondRadius(self.beyond_radius))
        except ValueError as err:
            raise SessionError(str(err)) from err
        checks = (
            ("buffer_size", self.buffer_size >= 1, "at least 1 frame"),
            ("stamp_tolerance_ns", self.stamp_tolerance_ns >= 0, "0 or more nanoseconds"),
            ("max_gap_ns", self.max_gap_ns >= 0, "0 (off) or more nanoseconds"),
            ("keyframe_memory", self.keyframe_memory >= 0, "0 or more labels"),
        )
        for name, ok, expected in checks:
            if not ok:
                raise SessionError(f"{name} = {getattr(self, name)!r} is invalid; use {expected}")

    def with_changes(self, **changes: object) -> SessionConfig:
        """A copy with settings changed by name, the propagation's (method, radius, tau) among them;
        each is checked, and nothing changes if one is invalid."""
        propagating = set(PropagationConfig.__dataclass_fields__)
        session_fields = set(SessionConfig.__dataclass_fields__) - {"propagation"}
        if unknown := set(changes) - propagating - session_fields:
            raise SessionError(f"unknown session settings {sorted(unknown)}")
        try:
            propagation = self.propagation.with_changes(
                **{name: value for name, value in changes.items() if name in propagating}
            )
        except ConfigError as err:
            raise SessionError(str(err)) from err
        own = {name: value for name, value in changes.items() if name not in propagating}
        return replace(self, propagation=propagation, **own)


@dataclass(frozen=True)
class LabelOutput:
    """One label image to publish, for the frame stamped ``stamp_ns``."""

    stamp_ns: int
    frame_id: str
    image: np.ndarray  # (H, W, 3) uint8 RGB, the frame the labels belong to
    labels: np.ndarray  # (H, W) uint8 class ids, ignore id where unknown
    confidence: np.ndarray  # (H, W) uint8, 255 = certain
    source: Source  # the labeling it is published with (SEMANTIC: g alone, beyond the radius)
    keyframe_stamp_ns: int | None  # the (nearer) keyframe it was propagated from; None for semantic
    offset: int | None  # signed frames from that keyframe
    update: bool  # True when this frame was published before and its labels changed


@dataclass
class SessionStats:
    """Counters since the session started, for diagnostics."""

    frames: int = 0  # frames accepted into the buffer
    frames_rejected: int = 0  # same stamp as the newest frame again
    published: int = 0  # label images returned
    updates: int = 0  # of which re-publications of an earlier frame
    resets: int = 0
    keyframes_applied: int = 0
    keyframes_waiting: int = 0  # arrived before their frame, waiting now
    keyframes_too_old: int = 0  # older than every buffered frame
    keyframes_unmatched: int = 0  # no frame within the stamp tolerance
    keyframes_invalid: int = 0  # wrong size or unknown class ids
