"""Data-parallel training under torchrun: process group, this rank's device, and collective helpers.

``torchrun --nproc_per_node N -m warp_refine_ros.cli.train_seg ...`` sets RANK, WORLD_SIZE and
LOCAL_RANK; without them a trainer runs as a single process and every helper here is a no-op.
Ranks use gloo on the CPU and nccl on CUDA; only rank 0 writes files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

import torch
import torch.distributed as dist

from warp_refine_ros.engines.devices import parse_device, torch_device

# Rank 0 may build data caches while the others wait at a barrier; allow for slow caches.
BARRIER_TIMEOUT = timedelta(hours=4)
T = TypeVar("T")


@dataclass(frozen=True)
class Distributed:
    """Where this process stands in the job: its rank, the number of ranks, and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes checkpoints, logs and progress bars."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank (no-op in a single process)."""
        if self.enabled:
            dist.barrier()

    def mean(self, value: float) -> float:
        """The mean of ``value`` over ranks (the value itself in a single process)."""
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return float(tensor.item()) / self.world_size


def main_first(state: Distributed, build: Callable[[], T]) -> T:
    """``build()`` on rank 0 first, then on the other ranks, which reuse the files it cached."""
    if not state.is_main:
        state.barrier()  # until rank 0 has built
    result = build()
    if state.is_main:
        state.barrier()  # let the others build
    state.barrier()
    return result


def setup(device: str) -> Distributed:
    """Join torchrun's process group if its environment is set; ``device`` is cpu or cuda[:N]."""
    kind, _ = parse_device(device)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed(device=torch_device(device))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    here = torch_device(f"cuda:{local_rank}" if kind == "cuda" else "cpu")
    if kind == "cuda":
        torch.cuda.set_device(here)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if kind == "cuda" else "gloo", timeout=BARRIER_TIMEOUT)
    return Distributed(rank, world_size, local_rank, here)


def teardown(state: Distributed) -> None:
    """Leave the process group at the end of a run."""
    if state.enabled and dist.is_initialized():
        dist.destroy_process_group()
