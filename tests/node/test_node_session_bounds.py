"""The live session's bounds: each frame's cues computed once however often it is relabeled, the ring
buffer within its size, memory flat over ten thousand frames."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Sequence

import numpy as np
import pytest

from warp_refine_ros.engines import EngineSet
from warp_refine_ros.synth import SynthFrame


class CountingMotion:
    """DIS flow that records every (image, reference) pair it is asked for."""

    def __init__(self, engine) -> None:
        self.engine, self.name, self.pairs = engine, engine.name, []

    def flow(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        self.pairs.append((id(image), id(reference)))
        return self.engine.flow(image, reference)


class CountingSegmentation:
    """The shared segmentation, recording which images it is asked about."""

    def __init__(self, engine) -> None:
        self.engine, self.name, self.spec, self.images = engine, engine.name, engine.spec, []

    def segment(self, image: np.ndarray):
        self.images.append(id(image))
        return self.engine.segment(image)


def test_each_frames_cues_are_computed_once(kit):
    plain = kit.engines()
    motion, segmentation = CountingMotion(plain.motion), CountingSegmentation(plain.segmentation)
    engines = EngineSet(motion=motion, segmentation=segmentation)
    session = kit.session(radius=5, buffer_size=40, engines=engines)
    # every frame first, then the labels newest first: the most re-propagation there can be
    events = [("frame", frame) for frame in kit.frames] + [("key", kit.frames[k]) for k in (26, 12, 3)]
    kit.play(session, events)
    assert len(motion.pairs) == len(set(motion.pairs)) > 0
    assert len(segmentation.images) == len(set(segmentation.images)) > 0


def recycled(frames: Sequence[SynthFrame], count: int, keyframe_every: int, delay: int):
    """``count`` frames cycling through ``frames`` with increasing stamps; keyframe labels arrive late."""
    period = frames[1].stamp_ns - frames[0].stamp_ns
    start = frames[0].stamp_ns
    for index in range(count):
        frame = frames[index % len(frames)]
        yield ("frame", frame.image, frame.labels, start + index * period)
        if index >= delay and (index - delay) % keyframe_every == 0:
            key = frames[(index - delay) % len(frames)]
            yield ("key", key.image, key.labels, start + (index - delay) * period)


def feed(session, events, until: int | None = None) -> None:
    """Play recycled events, all of them or until the session has taken ``until`` frames."""
    for kind, image, labels, stamp in events:
        if kind == "frame":
            session.add_frame(image, stamp)
        else:
            session.add_keyframe(labels, stamp)
        assert session.buffered <= session.config.buffer_size
        if session.stats.frames == until:
            return


def test_the_buffer_stays_within_its_size(kit):
    session = kit.session(radius=3, buffer_size=6)
    feed(session, recycled(kit.frames[:10], 300, keyframe_every=7, delay=2))
    assert session.buffered == 6
    assert session.stats.keyframes_applied == len(range(0, 298, 7))
    assert session.stats.keyframes_too_old == session.stats.keyframes_unmatched == 0


@pytest.mark.slow
def test_memory_is_flat_over_ten_thousand_frames(kit):
    session = kit.session(radius=3, buffer_size=6)
    events = recycled(kit.frames[:10], 10_000, keyframe_every=7, delay=2)
    cycle = 70  # keyframe period x image period: the session's state repeats every 70 frames
    feed(session, events, until=15 * cycle)  # warm up: buffer and keyframe memory full, caches made
    gc.collect()
    tracemalloc.start()
    try:
        feed(session, events, until=30 * cycle)
        gc.collect()
        early, _ = tracemalloc.get_traced_memory()
        feed(session, events, until=142 * cycle)
        gc.collect()
        late_bytes, _ = tracemalloc.get_traced_memory()
        feed(session, events)
    finally:
        tracemalloc.stop()
    assert session.stats.frames == 10_000
    one_frame = kit.spec.num_classes * kit.frames[0].labels.size * 4  # one frame's probabilities
    assert late_bytes - early < one_frame / 4, f"grew {late_bytes - early} bytes over {112 * cycle} frames"
