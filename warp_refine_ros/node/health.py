"""What the node reports on /diagnostics: latency per frame, dropped frames, keyframe problems.

Plain values only; the rclpy shell turns a :class:`HealthReport` into a diagnostic_msgs/DiagnosticStatus.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from enum import IntEnum

import numpy as np

from warp_refine_ros.node.config import SessionStats

WARN_HOLD_S = 10.0  # a problem keeps the level at WARN this long, so monitors that sample it see it


class Level(IntEnum):
    """diagnostic_msgs/DiagnosticStatus levels."""

    OK = 0
    WARN = 1
    ERROR = 2


class LatencyWindow:
    """The last ``size`` durations in seconds, summarised as median, p99 and max in milliseconds."""

    def __init__(self, size: int = 500) -> None:
        self._seconds: deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        self._seconds.append(seconds)

    def summary(self) -> dict[str, float]:
        """``median_ms``, ``p99_ms``, ``max_ms`` over the window; empty if nothing was recorded."""
        if not self._seconds:
            return {}
        ms = np.asarray(self._seconds) * 1000.0
        return {
            "median_ms": float(np.median(ms)),
            "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()),
        }


@dataclass(frozen=True)
class HealthReport:
    """One diagnostic status: level, a one-line message and key/value pairs."""

    level: Level
    message: str
    values: list[tuple[str, str]]


@dataclass(frozen=True)
class _Problems:
    """Counters whose growth between two reports is worth a warning."""

    dropped: int
    lost: int  # images the middleware reported lost before they reached the node
    rejected: int
    too_old: int
    unmatched: int
    invalid: int
    errors: int


class Health:
    """Per-frame latencies and counters; :meth:`report` compares with the previous report and stays at
    WARN for ``hold_s`` after the last problem."""

    def __init__(
        self, window: int = 500, hold_s: float = WARN_HOLD_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.latency = LatencyWindow(window)  # image received -> its labels published
        self.processing = LatencyWindow(window)  # time spent labeling the frame
        self.errors = 0  # messages that could not be decoded or labeled
        self.lost_in_transport = 0  # images DDS lost on the way (its message-lost events)
        self.hold_s = hold_s
        self._clock = clock
        self._last: _Problems | None = None
        self._warning: tuple[float, str] | None = None  # when the last problem was reported, and how

    def record(self, latency_s: float, processing_s: float) -> None:
        self.latency.add(latency_s)
        self.processing.add(processing_s)

    def report(
        self,
        stats: SessionStats,
        queue_dropped: int,
        buffered: int,
        relabeling: bool = False,
        waiting: int = 0,
    ) -> HealthReport:
        """The status now: WARN if frames were dropped or keyframes lost since the last report."""
        problems = _Problems(
            queue_dropped,
            self.lost_in_transport,
            stats.frames_rejected,
            stats.keyframes_too_old,
            stats.keyframes_unmatched,
            stats.keyframes_invalid,
            self.errors,
        )
        previous = self._last or _Problems(*(0,) * len(fields(_Problems)))
        self._last = problems
        new = {
            field.name: now - before
            for field, now, before in zip(
                fields(_Problems), astuple(problems), astuple(previous), strict=True
            )
            if now > before
        }
        latency = self.latency.summary()
        now, level = self._clock(), Level.WARN
        if new.get("dropped"):
            message = f"dropped {new['dropped']} frames: labeling is slower than the camera"
        elif new:
            message = "problems since last report: " + ", ".join(f"{k} +{v}" for k, v in new.items())
        elif self._warning is not None and now - self._warning[0] < self.hold_s:
            message = f"{self._warning[1]} ({now - self._warning[0]:.0f} s ago)"
        else:
            level = Level.OK
            message = f"labeling, p99 latency {latency['p99_ms']:.0f} ms" if latency else "waiting for images"
        if new:
            self._warning = (now, message)
        values = [
            ("frames", stats.frames),
            ("frames_dropped", queue_dropped + self.lost_in_transport + stats.frames_rejected),
            ("frames_dropped_queue_full", queue_dropped),
            ("frames_lost_in_transport", self.lost_in_transport),
            ("frames_dropped_repeated_stamp", stats.frames_rejected),
            ("buffered_frames", buffered),
            ("images_waiting", waiting),
            ("relabeling", "yes" if relabeling else "no"),  # backward relabeling still waits for a gap
            ("published", stats.published),
            ("republished", stats.updates),
            ("resets", stats.resets),
            ("keyframes_applied", stats.keyframes_applied),
            ("keyframes_waiting_for_image", stats.keyframes_waiting),
            ("keyframes_too_old", stats.keyframes_too_old),
            ("keyframes_unmatched", stats.keyframes_unmatched),
            ("keyframes_invalid", stats.keyframes_invalid),
            ("errors", self.errors),
            *((f"latency_{key}", f"{value:.1f}") for key, value in latency.items()),
            *((f"processing_{key}", f"{value:.1f}") for key, value in self.processing.summary().items()),
        ]
        return HealthReport(level, message, [(k, str(v)) for k, v in values])
