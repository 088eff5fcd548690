"""The training loop both trainers share: optimiser, schedule, mixed precision, DDP, checkpoints, logs.

A :class:`Trainer` owns one network and writes ``OUT/<name>.pt`` after every epoch with everything
needed to resume (optimiser, schedule, AMP scaler, epoch, history); resuming reaches the same
weights as an uninterrupted run because all data randomness is a function of (seed, epoch, index).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from warp_refine_ros.errors import DatasetError, EngineError, UsageError
from warp_refine_ros.fileio import write_json
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.modelspec import IMAGENET, Normalization
from warp_refine_ros.networks.checkpoint import TrainingState, load_checkpoint, save_checkpoint
from warp_refine_ros.networks.export import export_onnx
from warp_refine_ros.progress import progress_bar
from warp_refine_ros.training.distributed import Distributed

Batch = Any
StepFn = Callable[[nn.Module, Batch], tuple[torch.Tensor, dict[str, float]]]


@dataclass(frozen=True)
class Hyper:
    """Optimisation settings shared by both trainers."""

    epochs: int
    lr: float
    weight_decay: float = 1e-4
    warmup: float = 0.05  # fraction of all steps spent warming the learning rate up
    amp: bool = True  # mixed precision (float16 autocast) when training on CUDA
    seed: int = 0
    progress: bool = True
    tensorboard: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.lr <= 0 or not 0 <= self.warmup < 1:
            raise UsageError(f"need epochs >= 1, lr > 0 and warmup in [0, 1), got {self}")


def lr_factor(step: int, *, total: int, warmup: int) -> float:
    """Learning-rate multiplier: linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def data_loader(
    dataset: Dataset, sampler: Sampler, *, batch_size: int, workers: int, dist: Distributed
) -> DataLoader:
    """Batches of this rank's samples; the last short batch dropped unless it is the only one."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        drop_last=len(sampler) > batch_size,
        pin_memory=dist.device.type == "cuda",
    )


def check_out(out: Path, name: str, resume: bool) -> None:
    """A new run must not overwrite a checkpoint; a resumed one needs it."""
    checkpoint = out / f"{name}.pt"
    if resume and not checkpoint.is_file():
        raise DatasetError(f"--resume: {checkpoint} does not exist; start without --resume")
    if not resume and checkpoint.exists():
        raise DatasetError(f"{checkpoint} exists; pass --resume to continue that run or choose a new --out")


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA); data code draws from numpy generators seeded per sample."""
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False


class TrainingRun(Protocol):
    """What the loop reads of a trainer's run (SegRun, RefinerRun): where it writes, the classes, the
    hyper-parameters and the arguments it was started with."""

    out: Path
    spec: LabelSpec
    hyper: Hyper
    arguments: dict[str, Any]


class Trainer:
    """Runs epochs of one network; rank 0 writes ``OUT/<name>.pt``, ``metrics.json`` and TensorBoard logs."""

    def __init__(
        self,
        model: nn.Module,
        run: TrainingRun,
        *,
        name: str,
        dist: Distributed,
        steps_per_epoch: int,
        metadata: dict[str, Any] | None = None,
        normalization: Normalization = IMAGENET,
    ) -> None:
        """``model`` trained as ``run`` says; ``metadata`` goes into every checkpoint beside the
        arguments the run was started with (a resume compares them)."""
        self.model = model.to(dist.device)
        self.name, self.out, self.spec, self.hyper = name, run.out, run.spec, run.hyper
        self.normalization, self.dist = normalization, dist
        hyper = run.hyper
        self.metadata = {"arguments": run.arguments, **(metadata or {})}
        self.net: nn.Module = model
        if dist.enabled:
            ids = [dist.device.index] if dist.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=hyper.lr, weight_decay=hyper.weight_decay)
        total = hyper.epochs * steps_per_epoch
        warmup = int(hyper.warmup * total)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, total=total, warmup=warmup)
        )
        self.amp = hyper.amp and dist.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.history: list[dict[str, Any]] = []
        self.step = 0
        self._writer = None
        self._log = hyper.tensorboard and dist.is_main

    @property
    def checkpoint(self) -> Path:
        return self.out / f"{self.name}.pt"

    def resume(self) -> int:
        """Restore weights, optimiser, schedule, scaler and history from ``OUT/<name>.pt``; the next epoch."""
        loaded = load_checkpoint(self.checkpoint, arch=self.model.arch)
        if loaded.training is None:
            raise EngineError(f"{self.checkpoint} holds no training state to resume from")
        if loaded.config != self.model.config:
            raise EngineError(
                f"{self.checkpoint} was trained with {loaded.config}, not {self.model.config}; "
                "resume with the same settings"
            )
        if changed := _changed_arguments(
            loaded.metadata.get("arguments", {}), self.metadata.get("arguments", {})
        ):
            raise EngineError(
                f"--resume continues {self.checkpoint} with the settings it was started with, and these "
                f"differ: {', '.join(changed)}. Drop them to continue, or train into a new --out."
            )
        self.model.load_state_dict(loaded.state_dict)
        state = loaded.training
        self.optimizer.load_state_dict(state.optimizer)
        self.scheduler.load_state_dict(state.scheduler)
        if state.extra.get("scaler"):
            self.scaler.load_state_dict(state.extra["scaler"])
        self.history = list(state.metrics.get("history", []))
        self.step = int(state.extra.get("step", 0))
        return state.epoch

    def train_epoch(
        self, batches: Iterable[Batch], epoch: int, step_fn: StepFn, length: int
    ) -> dict[str, float]:
        """One pass over ``batches``; returns the metrics of ``step_fn`` averaged over steps and ranks."""
        torch.manual_seed(self.hyper.seed + epoch)  # any torch randomness is a function of the epoch
        self.net.train()
        totals: dict[str, float] = {}
        steps = 0
        start = time.perf_counter()
        bar = progress_bar(
            batches,
            total=length,
            desc=f"{self.name} {epoch + 1}/{self.hyper.epochs}",
            unit="batch",
            enabled=self.hyper.progress and self.dist.is_main,
        )
        for batch in bar:
            with torch.autocast("cuda", dtype=torch.float16, enabled=self.amp):
                loss, metrics = step_fn(self.net, batch)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            self.step += 1
            steps += 1
            for key, value in metrics.items():
                totals[key] = totals.get(key, 0.0) + value
            bar.set_postfix(loss=f"{metrics['loss']:.4f}")
            self.scalar("train/loss_step", metrics["loss"], self.step)
        if not steps:
            raise DatasetError(
                f"{self.name}: an epoch had no batches; is the batch size larger than the data?"
            )
        means = {key: self.dist.mean(value / steps) for key, value in totals.items()}
        means["lr"] = self.optimizer.param_groups[0]["lr"]
        means["seconds"] = time.perf_counter() - start
        return means

    def fit(
        self,
        loader: DataLoader,
        step_fn: StepFn,
        validate: Callable[[int], tuple[dict[str, Any] | None, str]],
        *,
        start_epoch: int = 0,
    ) -> None:
        """Epochs ``start_epoch`` to the last: train, ``validate(epoch)`` on rank 0 (scores or None, and a
        line for the log), checkpoint. The sampler and dataset are told the epoch first."""
        for epoch in range(start_epoch, self.hyper.epochs):
            for part in (loader.sampler, loader.dataset):
                part.set_epoch(epoch)
            record: dict[str, Any] = {"train": self.train_epoch(loader, epoch, step_fn, len(loader))}
            scores, line = validate(epoch) if self.dist.is_main else (None, "")
            if scores is not None:
                record["val"] = scores
            self.end_epoch(epoch, record, line)

    def end_epoch(self, epoch: int, record: dict[str, Any], validation: str = "") -> None:
        """Log the epoch's record (a line on stdout, ``validation`` appended, and TensorBoard) and write
        the resumable checkpoint and metrics (rank 0)."""
        self.history.append({"epoch": epoch + 1, **record})
        if self.dist.is_main:
            train = record["train"]  # a line an epoch, so a log without progress bars shows the run moving
            line = f"{self.name} epoch {epoch + 1}/{self.hyper.epochs}: loss {train['loss']:.4f}"
            line += f" ({train['seconds']:.0f} s)" + (f", {validation}" if validation else "")
            print(line, flush=True)
            for key, value in _flatten(record).items():
                self.scalar(key, value, epoch + 1)
            state = TrainingState(
                epoch=epoch + 1,
                optimizer=self.optimizer.state_dict(),
                scheduler=self.scheduler.state_dict(),
                metrics={"history": self.history},
                extra={"scaler": self.scaler.state_dict(), "step": self.step},
            )
            save_checkpoint(
                self.checkpoint,
                self.model,
                spec=self.spec,
                normalization=self.normalization,
                metadata=self.metadata,
                training=state,
            )
        self.dist.barrier()

    def finish(self, summary: dict[str, Any]) -> Path | None:
        """Export ``OUT/<name>.onnx`` and write ``OUT/metrics.json`` (rank 0); returns the ONNX path."""
        if self._writer is not None:
            self._writer.close()
        if not self.dist.is_main:
            return None
        onnx_path = export_onnx(self.checkpoint, self.out / f"{self.name}.onnx")
        write_json(self.out / "metrics.json", {**summary, "history": self.history})
        return onnx_path

    def scalar(self, tag: str, value: float, step: int) -> None:
        """One TensorBoard scalar under OUT/tensorboard (rank 0, when enabled)."""
        writer = self._tensorboard()
        if writer is not None:
            writer.add_scalar(tag, value, step)

    def _tensorboard(self) -> Any:
        if self._log and self._writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                print("note: tensorboard is not installed; no TensorBoard logs (pip install tensorboard)")
                self._log = False
                return None
            self._writer = SummaryWriter(str(self.out / "tensorboard"))
        return self._writer


RUN_ONLY = frozenset(
    {"command", "resume", "init", "no_progress", "no_tensorboard", "workers", "cache_workers"}
)
"""Arguments that change how a run executes, or are read only when it starts (--init): they may differ
on --resume."""


def _changed_arguments(started: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """``name started -> now`` for every training argument a resumed run would silently ignore."""
    return [
        f"{name} {started[name]!r} -> {now[name]!r}"
        for name in sorted(started.keys() & now.keys() - RUN_ONLY)
        if started[name] != now[name]
    ]


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested record as ``a/b/c`` TensorBoard tags."""
    flat: dict[str, float] = {}
    for key, value in record.items():
        tag = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{tag}/"))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[tag] = float(value)
    return flat
