"""What a setting costs a frame, priced from the engine calls timed during cross-validation."""

from __future__ import annotations

import numpy as np
import pytest

from warp_refine_ros.adaptation.cost import EngineClock, refiner_seconds
from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.propagation import Method


class Engine:
    def __init__(self) -> None:
        self.name = "double"
        self.calls = 0

    def flow(self, image: np.ndarray, reference: np.ndarray) -> str:
        self.calls += 1
        return "flow"


def test_timed_engines_keep_their_attributes_and_answers() -> None:
    clock = EngineClock()
    engine = Engine()
    timed = clock.timed(engine, "flow", "motion dis:fast")
    assert timed.name == "double" and timed.flow(None, None) == "flow" and engine.calls == 1
    assert len(clock.calls["motion dis:fast"]) == 1 and clock.engine_seconds() >= 0
    assert clock.timed(None, "flow", "x") is None


def test_a_frame_costs_two_flows_two_steps_one_g_and_two_omegas() -> None:
    clock = EngineClock()
    for key, seconds in (("motion dis:fine", 0.08), ("segmentation", 0.005), ("refiner", 0.1)):
        clock.record(key, seconds)
    clock.record_steps("setting", 0.03, steps=3)  # 10 ms a step outside the engines
    assert clock.ms_per_frame(Method.MOTION_ONLY, "dis:fine", "setting") == pytest.approx(2 * 80 + 2 * 10)
    assert clock.ms_per_frame(Method.WARP_INPAINT, "dis:fine", "setting") == pytest.approx(180 + 5)
    assert clock.ms_per_frame(Method.WARP_REFINE, "dis:fine", "setting") == pytest.approx(185 + 200)
    assert clock.ms_per_frame(Method.WARP_INPAINT, "dis:fast", "setting") is None  # never timed


def test_omega_is_timed_at_the_camera_size() -> None:
    seen = []

    class Refiner:
        def refine(self, channels, trusted, segmentation: Segmentation, image) -> None:
            seen.append(
                (channels.shape, trusted.shape, segmentation.size, segmentation.coarse.shape, image.shape)
            )

    assert refiner_seconds(Refiner(), (61, 97), 5) >= 0
    assert len(seen) == 4 and seen[0] == ((61, 97), (61, 97), (61, 97), (8, 13, 5), (61, 97, 3))


def test_omega_is_priced_on_the_classes_present_within_the_whole_spec() -> None:
    seen = []

    class Refiner:
        def refine(self, channels, trusted, segmentation: Segmentation, image) -> None:
            seen.append((channels, segmentation.coarse))

    refiner_seconds(Refiner(), (61, 97), 19, present=5)
    channels, coarse = seen[0]
    assert coarse.shape == (8, 13, 19) and np.allclose(coarse.sum(axis=2), 1, atol=1e-5)
    assert channels.max() < 5 and coarse.argmax(axis=2).max() < 5  # the other 14 hold no label, no arg-max
