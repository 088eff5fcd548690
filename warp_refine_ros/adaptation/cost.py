"""What a labeler setting costs on this machine: milliseconds a frame, measured while it is cross-validated.

bag_label labels a frame between two keyframes from both sides: two flows (one per direction) and two
propagation steps, g once for the methods that use it, and Omega on both steps for warp-refine. The
clock times every engine call of the cross-validation (the median call of each engine; a cached flow
by what computing it took, adaptation/flow_cache.py) and the array work of the steps around them, and
prices a setting by those counts, so settings that share engines are priced by the same calls.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from statistics import median
from typing import Any

import numpy as np

from warp_refine_ros.adaptation.streams import LabeledStream, held_out_keyframes
from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import Method

STEPS_PER_FRAME = 2  # forward from the keyframe before, backward from the keyframe after


class _Timed:
    """An engine whose one working method (``flow``, ``segment`` or ``refine``) is timed into ``clock``."""

    def __init__(self, engine: Any, method: str, clock: EngineClock, key: str) -> None:
        self._engine, self._method, self._clock, self._key = engine, method, clock, key

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._engine, name)
        if name != self._method:
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self._clock.record(self._key, time.perf_counter() - start)

        return timed


class EngineClock:
    """Engine call times by engine, and the propagation work around them by setting."""

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = defaultdict(list)
        self.steps: dict[str, list[float]] = defaultdict(list)  # seconds per step outside the engines

    def record(self, key: str, seconds: float) -> None:
        self.calls[key].append(seconds)

    def timed(self, engine: Any, method: str, key: str) -> Any:
        """``engine`` with its ``method`` timed under ``key`` (None stays None)."""
        return None if engine is None else _Timed(engine, method, self, key)

    def engine_seconds(self) -> float:
        """All engine time recorded so far."""
        return sum(sum(times) for times in self.calls.values())

    def record_steps(self, setting: str, seconds: float, steps: int) -> None:
        """Propagation work of ``steps`` steps of a setting, engine time already taken out."""
        if steps:
            self.steps[setting].append(max(seconds, 0.0) / steps)

    def ms_per_frame(self, method: Method, motion: str, setting: str) -> float | None:
        """The cost of labeling one frame with a setting, from the medians measured; None if unmeasured."""
        parts = [(STEPS_PER_FRAME, self.steps.get(setting))]  # (calls a frame, seconds of each call)
        if method.needs_motion:
            parts.append((STEPS_PER_FRAME, self.calls.get(f"motion {motion}")))
        if method.needs_segmentation:
            parts.append((1, self.calls.get("segmentation")))
        if method.needs_refiner:
            parts.append((STEPS_PER_FRAME, self.calls.get("refiner")))
        if not all(times for _, times in parts):
            return None
        return round(1000 * sum(count * median(times) for count, times in parts), 1)


def refiner_seconds(refiner: Any, size: tuple[int, int], classes: int, present: int | None = None) -> float:
    """Seconds of one Omega call on a frame of ``size`` (H, W) of a spec of ``classes`` classes, of which
    ``present`` (default: all) hold the labels and g's most likely class: the median of three calls on
    a synthetic frame, after one that warms the engine up. Prices Omega's stages before they run."""
    rng = np.random.default_rng(0)
    height, width = size
    grid = (-(-height // 8), -(-width // 8))  # g's output grid: 1/4 of its half-size input
    present = classes if present is None else min(present, classes)
    spare = 0.01 if classes > present else 0.0  # the absent classes' mass: never the arg-max
    absent = np.full((*grid, classes - present), spare / max(classes - present, 1))
    probabilities = np.concatenate([(1 - spare) * rng.dirichlet(np.ones(present), grid), absent], axis=2)
    segmentation = Segmentation(probabilities.astype(np.float32), size)
    channels = rng.integers(0, present, size).astype(np.uint8)
    trusted = rng.random(size) < 0.9
    image = rng.integers(0, 256, (height, width, 3)).astype(np.uint8)
    times = []
    for _ in range(4):
        start = time.perf_counter()
        refiner.refine(channels, trusted, segmentation, image)
        times.append(time.perf_counter() - start)
    return median(times[1:])


def refiner_check_seconds(
    streams: Sequence[LabeledStream], refiner: Any, radius: int, spec: LabelSpec
) -> float:
    """What cross-validating one warp-refine setting takes: Omega at every step of every held-out
    keyframe, and as much again for the rest of each step. Omega runs on the classes present, so it is
    priced at this camera's size with as many classes as its keyframes hold (the median keyframe's)."""
    labels = [stream.labels.load(stamp) for stream in streams for stamp in stream.keyframes.values()]
    present = int(np.median([np.unique(label[label != spec.ignore_id]).size for label in labels]))
    per_step = refiner_seconds(refiner, labels[0].shape, spec.num_classes, max(present, 1))
    steps = sum(sum(k.distances) for k in held_out_keyframes(streams, radius))
    return 2 * steps * per_step
