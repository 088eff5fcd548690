"""Per-stage wall-clock accounting (decode, motion, segmentation, refine, write) for run records."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any


class StageTimes:
    """Accumulated seconds and call counts per named stage; stages timed on several threads may overlap."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            with self._lock:
                self.seconds[name] += elapsed
                self.calls[name] += 1

    def merge(self, other: dict[str, dict[str, float]]) -> None:
        """Add a summary produced by :meth:`summary` (e.g. from a worker process)."""
        for name, entry in other.items():
            self.seconds[name] += entry["seconds"]
            self.calls[name] += int(entry["calls"])

    def take(self) -> dict[str, dict[str, float]]:
        """The :meth:`summary` of what was timed since the last take, and start counting afresh."""
        with self._lock:
            taken = self.summary()
            self.seconds.clear()
            self.calls.clear()
        return taken

    def summary(self) -> dict[str, dict[str, float]]:
        return {
            name: {
                "seconds": round(self.seconds[name], 4),
                "calls": self.calls[name],
                "ms_per_call": round(1000 * self.seconds[name] / max(self.calls[name], 1), 3),
            }
            for name in self.seconds
        }


class TimedEngine:
    """Wraps an engine so each call of its main method (flow, segment, refine) counts toward a stage."""

    def __init__(self, engine: Any, method: str, stage: str, times: StageTimes) -> None:
        self._engine = engine
        self._method = getattr(engine, method)
        self._method_name = method
        self._stage = stage
        self._times = times

    def __getattr__(self, name: str) -> Any:
        if name == self._method_name:
            return self._call
        return getattr(self._engine, name)

    def _call(self, *args: Any) -> Any:
        with self._times.stage(self._stage):
            return self._method(*args)


STAGES = {
    "motion": ("flow", "motion"),
    "segmentation": ("segment", "segmentation"),
    "refiner": ("refine", "refine"),
}
"""Each engine role: the method to time and the stage its time counts toward."""


def timed(engines: Any, times: StageTimes) -> Any:
    """A copy of an engine set (a dataclass with motion, segmentation, refiner) whose engines are timed."""
    wrapped = {
        role: TimedEngine(engine, method, stage, times) if (engine := getattr(engines, role)) else None
        for role, (method, stage) in STAGES.items()
    }
    return replace(engines, **wrapped)
