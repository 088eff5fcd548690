"""adapt_labeler's settings, the shipped networks it may start from, and what a run chose."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warp_refine_ros.engines.loading import load_segmentation
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.config import DEFAULT_RADIUS
from warp_refine_ros.resources import share_path


@dataclass(frozen=True)
class Options:
    """adapt_labeler's settings beyond its data."""

    out: Path
    radius: int = DEFAULT_RADIUS
    budget_minutes: float = 30.0
    seg_init: Path | str | None = None  # a file g starts from, SCRATCH, or None: the shipped g
    motion: Path | None = None  # a learned motion engine file to calibrate beside DIS
    rounds: int = 2  # self-training rounds at most
    seg_steps: int | None = None  # training steps of g and Omega: default from the budget and the
    refiner_steps: int | None = None  # speed measured on this machine
    device: str = "cpu"
    progress: bool = True


def shipped_checkpoint(network: str) -> Path:
    """The shipped PyTorch checkpoint of ``seg`` or ``refiner`` (adaptation starts from these)."""
    return share_path(f"models/{network}.pt")


@dataclass(frozen=True)
class Shipped:
    """The shipped networks, when they speak the user's classes: checkpoints to start from, ONNX to run."""

    seg: Path
    refiner: Path

    @classmethod
    def fitting(cls, spec: LabelSpec) -> Shipped | None:
        seg, refiner = shipped_checkpoint("seg"), shipped_checkpoint("refiner")
        shipped = load_segmentation(str(seg)).spec  # the same classes: ids and names (colours may differ)
        return None if shipped.class_differences(spec) else cls(seg, refiner)


@dataclass
class Outcome:
    """What the adaptation chose and why: the models to ship and every estimate made on the way."""

    chosen: dict
    today: dict
    records: list[dict]
    segmentation: Path
    refiner: Path | None
    g_source: str  # "trained" or "shipped"
    rounds: int
    refiner_source: str | None  # "trained", "shipped" or None (the chosen method needs no refiner)
    notes: list[str]
