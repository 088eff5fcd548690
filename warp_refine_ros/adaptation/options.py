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
    min_fps: float | None = None  # choose only settings that label at least this fast here, while any does
    device: str = "cpu"
    progress: bool = True


def shipped_checkpoint(network: str) -> Path:
    """The shipped PyTorch checkpoint of ``seg`` or ``refiner`` (adaptation starts from these)."""
    return share_path(f"models/{network}.pt")


def shipped_seg_fitting(spec: LabelSpec) -> Path | None:
    """The shipped g when it speaks the user's classes (ids and names; colours may differ), else None. The
    shipped Omega is class-agnostic: it fits every spec."""
    seg = shipped_checkpoint("seg")
    return None if load_segmentation(str(seg)).spec.class_differences(spec) else seg


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
    refiner_source: str | None  # "trained" (fine-tuned), "pretrained" (shipped) or None (no refiner needed)
    notes: list[str]
