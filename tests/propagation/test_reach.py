"""ReachCosts streamed in one pass equal support carried keyframe by keyframe along the chain."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from warp_refine_ros.engines.dis import DisMotion
from warp_refine_ros.propagation import reach
from warp_refine_ros.synth import DriveConfig, render_drive


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    drive = render_drive(DriveConfig(width=64, height=48, frames=15, seed=3, speed_mps=25.0))
    return [frame.image for frame in drive.frames]


def chained(steps: list, start: int, frame: int) -> np.ndarray:
    """Support at ``frame`` of a label at ``start``, one step at a time (eq. 3 and 6 per step)."""
    support = np.ones((*steps[0].forward_trust.shape, 1), np.float32)
    forward = start < frame
    for t in range(start, frame) if forward else range(start - 1, frame - 1, -1):
        step = steps[t]
        support = (
            reach._advance(support, step.forward, step.forward_trust)
            if forward
            else reach._advance(support, step.backward, step.backward_trust)
        )
    return support[::2, ::2, 0]


@pytest.mark.parametrize("radius", [1, 3, 6])
def test_streamed_costs_equal_support_carried_frame_by_frame(frames, radius) -> None:
    motion = DisMotion("fast")
    builder = reach.ReachCostBuilder(motion, radius)
    for image in frames:
        builder.add(image)
    costs = builder.finish()
    steps = [reach.motion_step(motion, a, b) for a, b in itertools.pairwise(frames)]
    count = len(frames)
    assert costs.frames == count
    for f in range(count):
        for j in range(1, radius + 1):
            if f - j >= 0:
                assert costs.forward[f, j] == pytest.approx(1 - chained(steps, f - j, f).mean(), abs=2e-3)
            if f + j < count:
                assert costs.backward[f, j] == pytest.approx(1 - chained(steps, f + j, f).mean(), abs=2e-3)
    for first in range(count):
        for gap in range(1, min(2 * radius + 1, count - 1 - first) + 1):
            last, expected = first + gap, 0.0
            for f in range(first + 1, last):
                reaches = [chained(steps, key, f) for key in (first, last) if abs(f - key) <= radius]
                expected += 1 - np.maximum.reduce(reaches).mean()
            assert costs.gaps[first, gap] == pytest.approx(expected, abs=5e-3)


def test_a_standing_camera_loses_no_support_and_a_cut_loses_most(frames) -> None:
    builder = reach.ReachCostBuilder(DisMotion("fast"), 2)
    still = [frames[0]] * 4
    other = render_drive(DriveConfig(width=64, height=48, frames=1, seed=40)).frames[0].image
    for image in [*still, other]:
        builder.add(image)
    costs = builder.finish()
    assert costs.forward[1:4, 1] == pytest.approx(0.0, abs=1e-6)  # nothing moves
    assert costs.forward[4, 1] > 0.6  # across the cut, motion carries little


def test_working_size_keeps_aspect_and_room_for_flow() -> None:
    assert reach.working_size(480, 640, 160) == (120, 160)
    assert reach.working_size(72, 96, 160) == (72, 96)  # never enlarged
    assert reach.working_size(200, 4000, 160) == (16, 320)  # the short side keeps 16 pixels
