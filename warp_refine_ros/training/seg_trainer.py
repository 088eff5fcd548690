"""train_seg's engine: fit the teacher segmentation network g on labeled frames, validate by mIoU.

g learns at the resolution the engines run it at (the camera image times ``input_scale``), is scored
each epoch the way the engines use it (1/4-resolution logits resized to the full label), and is
written as ``OUT/seg.pt`` (resumable) and ``OUT/seg.onnx``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from warp_refine_ros.evaluation.confusion import ConfusionMatrix, Scores
from warp_refine_ros.labels import LabelSpec, read_label_png
from warp_refine_ros.modelspec import IMAGENET
from warp_refine_ros.networks.checkpoint import load_checkpoint
from warp_refine_ros.networks.pretrained import init_segmentation
from warp_refine_ros.networks.segmentation import SegmentationConfig, SegmentationNet
from warp_refine_ros.propagation.probabilities import argmax_confidence
from warp_refine_ros.training.augment import Augmentation
from warp_refine_ros.training.data import SegmentationDataset
from warp_refine_ros.training.distributed import Distributed
from warp_refine_ros.training.loop import Hyper, Trainer, data_loader, seed_everything
from warp_refine_ros.training.losses import SegmentationLoss, balanced_weights
from warp_refine_ros.training.sampler import PROPAGATED_FRACTION, MixedSampler
from warp_refine_ros.training.sources import LabeledImage, read_rgb
from warp_refine_ros.training.validation import ModuleSegmentation

NAME = "seg"


@dataclass
class SegRun:
    """Everything one train_seg run needs; the CLI fills it from arguments."""

    out: Path
    spec: LabelSpec
    train: list[LabeledImage]  # manual (keyframe) frames and, from --dataset, propagated ones
    val: list[LabeledImage]
    hyper: Hyper
    config: SegmentationConfig
    augmentation: Augmentation = field(default_factory=Augmentation)
    loss: str = "ce"
    batch_size: int = 8
    workers: int = 0
    epoch_size: int | None = None  # default: every training frame once (3x the manual ones when mixing)
    propagated_fraction: float = PROPAGATED_FRACTION
    pixel_confidence: float | None = None
    resume: bool = False
    init: Path | None = None  # weights g starts from (networks/pretrained.py); not with resume
    arguments: dict[str, Any] = field(default_factory=dict)


def label_counts(items: list[LabeledImage], spec: LabelSpec) -> np.ndarray:
    """Pixels per class channel over the frames' labels, for class-balanced weights."""
    counts = np.zeros(spec.num_classes, dtype=np.int64)
    for item in items:
        ids = np.bincount(read_label_png(item.label).ravel(), minlength=256)
        counts += ids[spec.ids]
    return counts


def make_sampler(dataset: SegmentationDataset, run: SegRun, dist: Distributed) -> MixedSampler:
    """Plain shuffled epochs, or the paper's 70/30 propagated/manual mix when propagated frames exist."""
    shard = {"seed": run.hyper.seed, "rank": dist.rank, "world_size": dist.world_size}
    propagated = dataset.propagated_indices
    if propagated:
        return MixedSampler.propagated_and_manual(
            propagated,
            dataset.manual_indices,
            propagated_fraction=run.propagated_fraction,
            epoch_size=run.epoch_size,
            **shard,
        )
    return MixedSampler.uniform(len(dataset), epoch_size=run.epoch_size, **shard)


def evaluate_segmentation(
    model: SegmentationNet, items: list[LabeledImage], spec: LabelSpec, device: torch.device
) -> Scores:
    """mIoU of g on full-resolution labels, run through the same pre- and post-processing as its engines."""
    engine = ModuleSegmentation(model, spec, IMAGENET, device)
    matrix = ConfusionMatrix.for_spec(spec)
    for item in items:
        image = read_rgb(item.image)
        truth = spec.validate(read_label_png(item.label), shape=image.shape, name=str(item.label))
        channels, _ = argmax_confidence(engine.segment(image).probabilities)
        matrix.update(truth, spec.to_ids(channels))
    return matrix.compute()


def train_segmentation(run: SegRun, dist: Distributed) -> dict[str, Any]:
    """Train g for ``run.hyper.epochs`` epochs (continuing a checkpoint with ``resume``); the summary."""
    seed_everything(run.hyper.seed)
    model = SegmentationNet(run.config)
    init_record = _init(model, run, dist)
    dataset = SegmentationDataset(
        run.train,
        run.spec,
        normalization=IMAGENET,
        augmentation=run.augmentation,
        pixel_confidence=run.pixel_confidence,
        seed=run.hyper.seed,
    )
    sampler = make_sampler(dataset, run, dist)
    loader = data_loader(dataset, sampler, batch_size=run.batch_size, workers=run.workers, dist=dist)
    weights = balanced_weights(label_counts(run.train, run.spec)) if run.loss == "balanced" else None
    criterion = SegmentationLoss(run.loss, weights=weights)
    trainer = Trainer(
        model,
        run,
        name=NAME,
        dist=dist,
        steps_per_epoch=len(loader),
        metadata={"trained_by": "train_seg", "init": init_record},
    )
    start_epoch = trainer.resume() if run.resume else 0
    device = dist.device

    def step(
        net: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        image, target = (t.to(device, non_blocking=True) for t in batch)
        logits, _ = net(image)  # (B, C, h, w) at the augmented input's size
        return criterion(logits, target)

    last: list[Scores] = []  # the latest epoch's scores, for the summary

    def validate(epoch: int) -> tuple[dict[str, float] | None, str]:
        if not run.val:
            return None, ""
        scores = evaluate_segmentation(model, run.val, run.spec, device)
        last[:] = [scores]
        return {"miou": scores.miou, "pixel_accuracy": scores.pixel_accuracy}, f"val mIoU {_pct(scores.miou)}"

    started = time.perf_counter()
    trainer.fit(loader, step, validate, start_epoch=start_epoch)
    summary: dict[str, Any] = {
        "network": "segmentation",
        "config": asdict(run.config),
        "frames": {
            "train_manual": len(dataset.manual_indices),
            "train_propagated": len(dataset.propagated_indices),
            "val": len(run.val),
            "epoch_size": sampler.epoch_size,
        },
        "loss": run.loss,
        "hyper": asdict(run.hyper),
        "batch_size": run.batch_size,
        "train_seconds_this_run": time.perf_counter() - started,
        "arguments": run.arguments,
        "init": init_record,
    }
    if run.val and dist.is_main:
        scores = last[0] if last else evaluate_segmentation(model, run.val, run.spec, device)
        summary["val"] = scores.to_dict(run.spec.names)
    trainer.finish(summary)
    return summary


def _init(model: SegmentationNet, run: SegRun, dist: Distributed) -> dict[str, Any] | None:
    """Load ``run.init`` into g (printing what was taken); a resumed run keeps its first run's record."""
    if run.resume:
        return load_checkpoint(run.out / f"{NAME}.pt", arch=model.arch).metadata.get("init")
    if run.init is None:
        return None
    summary = init_segmentation(model, run.init, spec=run.spec)
    if dist.is_main:
        print(summary, flush=True)
    return summary.to_dict()


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
