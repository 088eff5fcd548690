"""Fixed-size epochs drawn from pools of frames in fixed proportions, sharded over data-parallel ranks.

Section 4.2 of the paper trains on auto-labeled data with an epoch of a fixed size (three times the
manually labeled set, so the baseline is not under-trained) of which 70 % comes from propagated
frames and 30 % from manually labeled ones. A single pool with fraction 1 is a plain shuffled epoch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from warp_refine_ros.errors import DatasetError

PROPAGATED_FRACTION = 0.7
EPOCH_MULTIPLE = 3  # epoch size = 3 x the manually labeled frames (section 4.2)


class MixedSampler(Sampler[int]):
    """Each epoch: ``round(f_i * epoch_size)`` indices from pool i, shuffled together, split over ranks.

    A pool is walked in random permutations, one after another, so its frames repeat only once all
    have been drawn. The order depends on (seed, epoch) only: call :meth:`set_epoch` before each
    epoch, as with DistributedSampler; every rank sees the same order and takes every world_size-th.
    """

    def __init__(
        self,
        pools: Sequence[Sequence[int]],
        fractions: Sequence[float],
        *,
        epoch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if len(pools) != len(fractions) or not pools:
            raise ValueError("give one fraction per pool")
        if min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
            raise ValueError(f"pool fractions must be >= 0 and add up to 1, got {list(fractions)}")
        if epoch_size < 1:
            raise ValueError(f"epoch size must be positive, got {epoch_size}")
        for pool, fraction in zip(pools, fractions, strict=True):
            if fraction > 0 and not pool:
                raise DatasetError(
                    f"a pool that should give {fraction:.0%} of each epoch has no frames; "
                    "check the dataset's filters or set its fraction to 0"
                )
        self.pools = [np.asarray(pool, dtype=np.int64) for pool in pools]
        self.fractions = [float(f) for f in fractions]
        self.epoch_size = epoch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    @classmethod
    def uniform(cls, size: int, *, epoch_size: int | None = None, **kwargs: int) -> MixedSampler:
        """A shuffled pass over ``size`` items (or ``epoch_size`` draws from them)."""
        return cls([range(size)], [1.0], epoch_size=epoch_size or size, **kwargs)

    @classmethod
    def propagated_and_manual(
        cls,
        propagated: Sequence[int],
        manual: Sequence[int],
        *,
        propagated_fraction: float = PROPAGATED_FRACTION,
        epoch_size: int | None = None,
        **kwargs: int,
    ) -> MixedSampler:
        """The paper's mix: ``propagated_fraction`` of each epoch from propagated frames, the rest manual.

        ``epoch_size`` defaults to three times the number of manually labeled frames.
        """
        if epoch_size is None:
            if not manual:
                raise DatasetError(
                    "no manually labeled frames (offset 0) to size the epoch by; give epoch_size"
                )
            epoch_size = EPOCH_MULTIPLE * len(manual)
        return cls(
            [propagated, manual],
            [propagated_fraction, 1.0 - propagated_fraction],
            epoch_size=epoch_size,
            **kwargs,
        )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def counts(self) -> list[int]:
        """How many indices each pool gives per epoch (rounded; the last pool takes the remainder)."""
        counts = [round(f * self.epoch_size) for f in self.fractions[:-1]]
        return [*counts, self.epoch_size - sum(counts)]

    def epoch_indices(self) -> np.ndarray:
        """The whole epoch's indices, before sharding over ranks."""
        rng = np.random.default_rng([self.seed, self.epoch])
        drawn = []
        for pool, count in zip(self.pools, self.counts(), strict=True):
            if count:
                rounds = -(-count // len(pool))
                drawn.append(np.concatenate([rng.permutation(pool) for _ in range(rounds)])[:count])
        order = np.concatenate(drawn)
        return order[rng.permutation(len(order))]

    def __iter__(self) -> Iterator[int]:
        order = self.epoch_indices()
        padded = -(-len(order) // self.world_size) * self.world_size  # every rank takes as many steps
        order = np.resize(order, padded)
        return iter(order[self.rank :: self.world_size].tolist())

    def __len__(self) -> int:
        return -(-self.epoch_size // self.world_size)
