"""Labeling a keyframe window with the engines run ahead on other threads."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from doubles import NoisyTruthSegmentation, image_key

from warp_refine_ros.bags.keyframes import keyframes_from_directory
from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.bags.stream_plan import plan_stream
from warp_refine_ros.bags.window_labeling import label_window
from warp_refine_ros.engines.dis import DisMotion
from warp_refine_ros.propagation import Method, Propagator
from warp_refine_ros.timing import StageTimes

TOPIC = "/cam/image_raw"
RADIUS = 8  # keyframes every 8 frames: every frame between two is reached from both


class SlowCounting:
    """An engine that takes a while and counts, per input, how often it ran (from any thread)."""

    def __init__(self, engine, seconds: float) -> None:
        self.engine, self.seconds = engine, seconds
        self.name, self.spec = engine.name, getattr(engine, "spec", None)
        self.calls: Counter = Counter()
        self._lock = threading.Lock()

    def _count(self, *images: np.ndarray) -> None:
        with self._lock:
            self.calls[tuple(image_key(image) for image in images)] += 1
        time.sleep(self.seconds)

    def segment(self, image):
        self._count(image)
        return self.engine.segment(image)

    def flow(self, image, reference):
        self._count(image, reference)
        return self.engine.flow(image, reference)


def label_bag(tmp_path, tiny_drive, spec, workers: int):
    """Every window of the drive labeled with ``workers`` engine threads (0: none); the labels by stamp
    and the engines."""
    bag = tiny_drive.write_bag(tmp_path / f"bag{workers}")
    keyframes = keyframes_from_directory(tiny_drive.write_keyframes(tmp_path / f"kf{workers}"), ["x"], spec)[
        "x"
    ]
    truth = NoisyTruthSegmentation(spec)
    for frame in tiny_drive.frames:
        truth.remember(frame.image, frame.labels)
    segmentation, motion = SlowCounting(truth, 0.01), SlowCounting(DisMotion(), 0.01)
    propagator = Propagator(Method.WARP_INPAINT, spec, motion=motion, segmentation=segmentation)
    labels: dict[int, np.ndarray] = {}
    engines = ThreadPoolExecutor(max_workers=workers) if workers else None
    try:
        with BagReader(bag) as reader:
            plan = plan_stream(
                reader, "drive", TOPIC, keyframes, spec, radius=RADIUS, tolerance_ns=0, motion=motion
            )
            for window in plan.windows:
                sink = lambda labeled: labels.__setitem__(labeled.frame.stamp_ns, labeled.labeling.labels)  # noqa: E731
                label_window(reader, plan, window, propagator, RADIUS, sink, StageTimes(), engines)
    finally:
        if engines is not None:
            engines.shutdown()
    return labels, segmentation, motion


def test_engines_ahead_on_several_threads_run_once_per_input_and_change_no_label(tmp_path, tiny_drive, spec):
    alone, _, _ = label_bag(tmp_path, tiny_drive, spec, workers=0)
    labels, segmentation, motion = label_bag(tmp_path, tiny_drive, spec, workers=4)
    assert labels.keys() == alone.keys() and len(labels) == len(tiny_drive.frames)
    assert all(np.array_equal(labels[stamp], alone[stamp]) for stamp in alone)
    assert segmentation.calls and max(segmentation.calls.values()) == 1, segmentation.calls.most_common(3)
    assert motion.calls and max(motion.calls.values()) == 1, motion.calls.most_common(3)
