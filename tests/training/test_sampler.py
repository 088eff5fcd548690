"""MixedSampler: the paper's 70/30 mix with a fixed epoch size, reproducible and sharded over ranks."""

from __future__ import annotations

import numpy as np
import pytest

from warp_refine_ros.errors import DatasetError
from warp_refine_ros.training.sampler import MixedSampler


def test_mixes_propagated_and_manual_70_30_over_three_times_the_manual_set() -> None:
    propagated, manual = list(range(100)), list(range(100, 120))
    sampler = MixedSampler.propagated_and_manual(propagated, manual, seed=1)
    indices = list(sampler)
    assert len(indices) == len(sampler) == 60  # 3 x 20 manual frames
    from_manual = sum(i >= 100 for i in indices)
    assert from_manual == 18 and len(indices) - from_manual == 42
    assert len(set(i for i in indices if i >= 100)) == 18  # a pool repeats only once all were drawn


def test_a_small_pool_is_walked_whole_before_repeating() -> None:
    sampler = MixedSampler([range(5), range(5, 7)], [0.5, 0.5], epoch_size=20, seed=0)
    counts = np.bincount(list(sampler), minlength=7)
    assert counts[:5].tolist() == [2] * 5 and counts[5:].tolist() == [5, 5]


def test_order_depends_on_seed_and_epoch_only() -> None:
    first = MixedSampler.uniform(50, seed=3)
    again = MixedSampler.uniform(50, seed=3)
    assert list(first) == list(again)
    first.set_epoch(1)
    assert list(first) != list(again) and sorted(first) == list(range(50))


def test_ranks_split_one_epoch_without_overlap() -> None:
    shards = [list(MixedSampler.uniform(11, seed=2, rank=r, world_size=2)) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 6  # padded so every rank takes as many steps
    assert sorted(shards[0] + shards[1])[:-1] == list(range(11)) or set(shards[0] + shards[1]) == set(
        range(11)
    )
    whole = MixedSampler.uniform(11, seed=2).epoch_indices().tolist()
    assert shards[0] == np.resize(whole, 12)[0::2].tolist()


def test_an_empty_pool_that_should_contribute_is_an_error() -> None:
    with pytest.raises(DatasetError, match="has no frames"):
        MixedSampler.propagated_and_manual([], [1, 2, 3])
    with pytest.raises(DatasetError, match="no manually labeled frames"):
        MixedSampler.propagated_and_manual([1, 2], [])
    with pytest.raises(ValueError, match="add up to 1"):
        MixedSampler([range(3), range(3)], [0.5, 0.6], epoch_size=4)
