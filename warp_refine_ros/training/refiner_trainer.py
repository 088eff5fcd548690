"""train_refiner's engine: fit Omega with the cycle-consistency loss (section 3.4), validate by offset.

1. Cache: for every keyframe, the cycle ends for l = 1..L both ways through warp-inpaint with the
   given motion and segmentation engines and tau (computed once, on disk; with several motions or
   taus, each keyframe's cycles use one of them).
2. Train: -log Omega(Lm, M, g(I_t), I_t)[L_t] over random (direction, l) and crops.
3. Validate: warp-refine with the network being trained on held-out drives, mIoU by |offset|,
   next to warp-inpaint with the same engines as the reference.
Writes ``OUT/refiner.pt`` (resumable), ``OUT/refiner.onnx`` and ``OUT/metrics.json``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from warp_refine_ros.engines.loading import EngineSet, canonical_motion
from warp_refine_ros.errors import DatasetError, EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.modelspec import IMAGENET
from warp_refine_ros.networks.checkpoint import load_checkpoint
from warp_refine_ros.networks.refiner import RefinerConfig, RefinerNet
from warp_refine_ros.propagation import DEFAULT_TAU, Method, Propagator
from warp_refine_ros.training.cycle_cache import CycleEntry, CycleSettings, build_cycle_cache
from warp_refine_ros.training.cycle_data import CycleDataset
from warp_refine_ros.training.distributed import Distributed
from warp_refine_ros.training.loop import Hyper, Trainer, data_loader, seed_everything
from warp_refine_ros.training.losses import cycle_loss, present_classes
from warp_refine_ros.training.sampler import MixedSampler
from warp_refine_ros.training.sources import KeyframeSource, match_source
from warp_refine_ros.training.validation import (
    ModuleRefiner,
    ValidationDrive,
    miou_by_offset,
    propagated_scores,
)

NAME = "refiner"


@dataclass(frozen=True)
class CycleGroup:
    """Keyframes whose cycles go through one segmentation engine: the labeler's, or one that never saw
    them (g nearly memorises its own keyframes, and an Omega trained there learns to trust g too much)."""

    sources: list[KeyframeSource]
    segmentation: str  # engine file


@dataclass
class RefinerRun:
    """Everything one train_refiner run needs; the CLI fills it from arguments."""

    out: Path
    spec: LabelSpec
    groups: list[CycleGroup]
    segmentation: str  # the segmentation engine file the labeler will use (validation runs it)
    hyper: Hyper
    motions: tuple[str, ...] = ("dis",)  # the cycles' motion engines (validation uses the first)
    taus: tuple[float, ...] = (DEFAULT_TAU,)  # the cycles' trust thresholds (validation uses the first)
    lengths: tuple[int, int] = (1, 6)  # l sampled uniformly in [min, max], both directions
    widths: tuple[int, ...] = RefinerConfig.widths
    crop: tuple[int, int] | None = (256, 320)
    batch_size: int = 8
    samples_per_keyframe: int = 1
    workers: int = 0
    cache: Path | None = None  # default OUT/cache
    cache_workers: int = 1
    engine_device: str = "cpu"
    val: list[ValidationDrive] = field(default_factory=list)
    val_radius: int = 10
    val_every: int = 1
    resume: bool = False
    init: Path | None = None  # a refiner checkpoint to start from (same architecture; any class spec)
    epoch_size: int | None = None  # samples per epoch (default: every keyframe samples_per_keyframe times)
    arguments: dict[str, Any] = field(default_factory=dict)


def load_engines(run: RefinerRun) -> EngineSet:
    """The motion and segmentation engines, checked against the class spec."""
    engines = EngineSet.from_files(
        motion=run.motions[0], segmentation=run.segmentation, device=run.engine_device
    )
    if differences := engines.segmentation.spec.class_differences(run.spec):
        raise EngineError(
            f"{run.segmentation} predicts other classes than the class spec ({'; '.join(differences[:6])}); "
            "train the refiner with the spec g was trained with"
        )
    return engines


def validate(
    engines: EngineSet, run: RefinerRun, model: RefinerNet | None, device: torch.device
) -> dict[str, float | None]:
    """mIoU by |offset| on the validation drives: warp-refine with ``model``, or warp-inpaint if None."""
    refiner = None if model is None else ModuleRefiner(model, IMAGENET, device)
    method = Method.WARP_INPAINT if model is None else Method.WARP_REFINE
    propagator = Propagator.from_engines(method, run.spec, replace(engines, refiner=refiner), tau=run.taus[0])
    return miou_by_offset(propagated_scores(propagator, run.val, run.val_radius))


def train_refiner(run: RefinerRun, dist: Distributed) -> dict[str, Any]:
    """Build the cycle cache, then train Omega for ``run.hyper.epochs`` epochs; the summary."""
    seed_everything(run.hyper.seed)
    started = time.perf_counter()
    engines = load_engines(run)
    entries = cycle_entries(run, dist)
    cache_seconds = time.perf_counter() - started
    model = RefinerNet(RefinerConfig(widths=run.widths)) if run.init is None else start_from(run.init)
    dataset = CycleDataset(
        entries,
        run.spec,
        lengths=run.lengths,
        crop=run.crop,
        max_pixels=model.config.max_pixels,
        samples_per_keyframe=run.samples_per_keyframe,
        seed=run.hyper.seed,
    )
    shard = {"seed": run.hyper.seed, "rank": dist.rank, "world_size": dist.world_size}
    sampler = MixedSampler.uniform(len(dataset), epoch_size=run.epoch_size, **shard)
    loader = data_loader(dataset, sampler, batch_size=run.batch_size, workers=run.workers, dist=dist)
    trainer = _trainer(model, run, dist, steps_per_epoch=len(loader))
    start_epoch = trainer.resume() if run.resume else 0
    device = dist.device

    def step(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        labels, trust, segmentation, image, target = present_classes(
            tuple(t.to(device, non_blocking=True) for t in batch)
        )
        return cycle_loss(net(labels, trust, segmentation, image), target)  # -log Omega(cycle end)[L_t]

    def validate_epoch(epoch: int) -> tuple[dict[str, float | None] | None, str]:
        if not run.val or (epoch + 1 != run.hyper.epochs and (epoch + 1) % run.val_every):
            return None, ""
        scores = validate(engines, run, model, device)
        return scores, f"warp-refine {_row(scores)}"

    baseline = None
    if run.val and dist.is_main:
        baseline = validate(engines, run, None, device)
        print(f"{NAME}: warp-inpaint on the validation drives: {_row(baseline)}", flush=True)
    train_started = time.perf_counter()
    trainer.fit(loader, step, validate_epoch, start_epoch=start_epoch)
    summary = {
        "network": "refiner",
        "config": asdict(model.config),
        "cycles": {
            "min_length": run.lengths[0],
            "max_length": run.lengths[1],
            "tau": trainer.metadata["tau"],
            "motion": trainer.metadata["motion"],
            "segmentation": [str(group.segmentation) for group in run.groups],
        },
        "keyframes": len(dataset.entries),
        "samples_per_epoch": len(dataset),
        "hyper": asdict(run.hyper),
        "batch_size": run.batch_size,
        "crop": run.crop,
        "cache_seconds": cache_seconds,
        "train_seconds_this_run": time.perf_counter() - train_started,
        "val_baseline_warp_inpaint": baseline,
        "val_warp_refine": next((h["val"] for h in reversed(trainer.history) if "val" in h), None),
        "arguments": run.arguments,
    }
    trainer.finish(summary)
    return summary


def cycle_entries(run: RefinerRun, dist: Distributed) -> list[CycleEntry]:
    """Every keyframe's cached cycles, each group's through its own segmentation engine."""
    if not run.groups:
        raise DatasetError("no keyframes to train the refiner on")
    entries = []
    for group in run.groups:
        settings = CycleSettings(group.segmentation, run.motions, run.taus, run.lengths[1], run.engine_device)
        entries += build_cycle_cache(
            [match_source(source, run.spec) for source in group.sources],
            settings,
            run.cache or run.out / "cache",
            run.spec,
            dist=dist,
            workers=run.cache_workers,
            progress=run.hyper.progress and dist.is_main,
        )
    return entries


def _trainer(model: RefinerNet, run: RefinerRun, dist: Distributed, *, steps_per_epoch: int) -> Trainer:
    """The training loop for Omega, its checkpoints recording how the cycles were made."""
    motions, taus = [canonical_motion(m) for m in run.motions], [float(t) for t in run.taus]
    return Trainer(
        model,
        run,
        name=NAME,
        dist=dist,
        steps_per_epoch=steps_per_epoch,
        metadata={
            "trained_by": "train_refiner",
            "segmentation": Path(run.segmentation).name,
            "motion": motions,
            "tau": taus,
            "init": None if run.init is None else str(run.init),
        },
    )


def start_from(path: Path) -> RefinerNet:
    """A trained refiner to fine-tune, its network kept whole: Omega is class-agnostic, so any spec's."""
    loaded = load_checkpoint(path, arch="refiner")
    model = RefinerNet(loaded.config)
    model.load_state_dict(loaded.state_dict)
    return model


def _row(scores: dict[str, float | None]) -> str:
    cells = [f"{k}:{100 * v:.1f}" for k, v in scores.items() if v is not None]
    return " ".join(cells)
