"""The keyframe choice is the exact optimum of its cost model: checked against every possible placement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from warp_refine_ros.propagation import keyframe_choice
from warp_refine_ros.propagation.keyframe_choice import Stream, choose, evaluate
from warp_refine_ros.propagation.reach import ReachCosts


def random_costs(rng: np.random.Generator, frames: int, radius: int) -> ReachCosts:
    return ReachCosts(
        radius,
        forward=rng.random((frames, radius + 1)),
        backward=rng.random((frames, radius + 1)),
        gaps=3 * rng.random((frames, 2 * radius + 2)),
    )


def total_cost(streams: list[Stream], new: list[list[int]]) -> float:
    """The model's cost of a placement, frame by frame: a frame no keyframe reaches costs ``miss``."""
    miss = sum(s.costs.frames for s in streams) + 1.0
    total = 0.0
    for stream, added in zip(streams, new, strict=True):
        outcome = evaluate(stream.costs, [*stream.labeled, *added])
        total += outcome.error + miss * outcome.unreached
    return total


def test_the_choice_is_the_best_of_every_placement_over_several_streams() -> None:
    rng = np.random.default_rng(0)
    for _ in range(150):
        radius = int(rng.integers(1, 3))  # streams longer than 2K + 2: long gaps are exercised too
        streams = []
        for _ in range(int(rng.integers(1, 3))):
            frames = int(rng.integers(1, 13))
            labeled = rng.choice(frames, size=int(rng.integers(0, min(2, frames) + 1)), replace=False)
            streams.append(Stream(random_costs(rng, frames, radius), tuple(sorted(labeled.tolist()))))
        free = [(n, f) for n, s in enumerate(streams) for f in range(s.costs.frames) if f not in s.labeled]
        count = int(rng.integers(0, min(len(free), 4) + 1))
        best = min(
            total_cost(streams, [[f for m, f in combo if m == n] for n in range(len(streams))])
            for combo in itertools.combinations(free, count)
        )
        choice = choose(streams, count)
        assert sum(map(len, choice.new)) == count
        assert not any(set(new) & set(s.labeled) for new, s in zip(choice.new, streams, strict=True))
        assert total_cost(streams, choice.new) == pytest.approx(best, abs=1e-9)


def test_coverage_comes_before_error() -> None:
    # frames 0..9, K = 2: keyframes at 2 and 7 reach every frame; a cheaper-looking pair leaves some out
    costs = ReachCosts(2, np.full((10, 3), 0.9), np.full((10, 3), 0.9), np.full((10, 6), 0.9))
    choice = choose([Stream(costs)], 2)
    assert choice.after[0].unreached == 0 and choice.new == [[2, 7]]
    assert choice.before[0].unreached == 10


def test_the_count_goes_where_motion_breaks() -> None:
    # a standing stream loses nothing; a moving one loses support: a spare keyframe goes to the mover
    still = ReachCosts(5, np.zeros((11, 6)), np.zeros((11, 6)), np.zeros((11, 12)))
    moving = ReachCosts(5, np.full((11, 6), 0.5), np.full((11, 6), 0.5), np.full((11, 12), 2.0))
    moving.gaps[:, 1] = 0.0  # adjacent keyframes leave nothing between them
    choice = choose([Stream(still), Stream(moving)], 3)
    assert [len(new) for new in choice.new] == [1, 2]


def test_a_count_beyond_the_unlabeled_frames_is_refused() -> None:
    costs = ReachCosts(1, np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"count must be 0\.\.2"):
        choose([Stream(costs, (1,))], 3)


def test_running_argmin_takes_the_first_of_equals() -> None:
    values = np.array([3.0, 1.0, 2.0, 1.0, 0.5])
    assert keyframe_choice._running_argmin(values).tolist() == [0, 1, 1, 1, 4]
