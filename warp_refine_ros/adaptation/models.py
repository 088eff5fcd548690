"""Training g and Omega for one part of the keyframes, on a schedule counted in optimizer steps.

Every training writes into its own folder under the work directory and resumes from its checkpoint
after a kill (the trainers' checkpoints are written every ``chunk`` steps, and a resumed run reaches
the same weights as an uninterrupted one). A folder with ``metrics.json`` is finished and reused.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from warp_refine_ros.adaptation.data import Inputs, Keyframes
from warp_refine_ros.bags import job as label_job
from warp_refine_ros.engines.loading import EngineSources
from warp_refine_ros.errors import BagError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.checkpoint import load_checkpoint
from warp_refine_ros.networks.random_init import refiner_inputs
from warp_refine_ros.networks.refiner import RefinerConfig, RefinerNet
from warp_refine_ros.networks.segmentation import SegmentationConfig, SegmentationNet
from warp_refine_ros.propagation import Method
from warp_refine_ros.propagation.config import PropagationConfig
from warp_refine_ros.training.augment import Augmentation
from warp_refine_ros.training.distributed import Distributed
from warp_refine_ros.training.loop import Hyper
from warp_refine_ros.training.refiner_trainer import CycleGroup, RefinerRun, train_refiner
from warp_refine_ros.training.seg_trainer import SegRun, train_segmentation
from warp_refine_ros.training.sources import LabeledImage, autolabeled_items

REFINER_CROP = (160, 224)  # Omega's training crops, as in its pretraining (make weights)


@dataclass(frozen=True)
class Schedule:
    """Optimizer steps and batch sizes of every training, fixed when a run starts (resumes reuse it)."""

    seg_steps: int
    refiner_steps: int
    seg_lr: float
    refiner_lr: float
    seg_batch: int = 8
    refiner_batch: int = 8
    chunk: int = 25  # steps between checkpoints: the unit a killed run loses at most

    def epochs(self, steps: int) -> int:
        """Epochs of :meth:`epoch_steps` steps that make ``steps`` (rounded up to a whole epoch)."""
        return max(1, math.ceil(steps / self.epoch_steps(steps)))

    def epoch_steps(self, steps: int) -> int:
        return max(1, min(self.chunk, steps))

    def hyper(self, steps: int, lr: float, progress: bool) -> Hyper:
        """The optimisation of one training of ``steps`` steps, in checkpointed epochs of :attr:`chunk`."""
        return Hyper(epochs=self.epochs(steps), lr=lr, progress=progress, tensorboard=False)


def seconds_per_step(config: SegmentationConfig, refiner: RefinerConfig, classes: int) -> tuple[float, float]:
    """Measured seconds of one training step of g and of Omega on this machine (a few steps each)."""
    timings = []
    for network, inputs in (
        (SegmentationNet(config), lambda: (torch.randn(8, 3, 192, 256),)),
        (
            RefinerNet(refiner),
            lambda: refiner_inputs(torch.randn(8, 3, *REFINER_CROP), torch.Generator(), classes),
        ),
    ):
        optimizer = torch.optim.AdamW(network.parameters(), 1e-4)
        batch = inputs()
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            output = network(*batch)
            loss = (output[0] if isinstance(output, tuple) else output).float().square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seconds.append(time.perf_counter() - start)
        timings.append(min(seconds[1:]))
    return timings[0], timings[1]


def train_g(
    out: Path,
    *,
    manual: list[LabeledImage],
    propagated: list[LabeledImage],
    inputs: Inputs,
    config: SegmentationConfig,
    init: Path | None,
    schedule: Schedule,
    progress: bool,
) -> Path:
    """Train g (from ``init``) on the manual frames, mixed 70/30 with propagated ones when given."""
    if (out / "metrics.json").is_file():
        return out / "seg.onnx"
    resume = (out / "seg.pt").is_file()
    plan = {
        "steps": schedule.seg_steps,
        "lr": schedule.seg_lr,
        "batch": schedule.seg_batch,
        "init": str(init),
    }
    run = SegRun(
        out=out,
        spec=inputs.spec,
        train=manual + propagated,
        val=[],
        hyper=schedule.hyper(schedule.seg_steps, schedule.seg_lr, progress),
        config=config,
        augmentation=Augmentation(input_scale=config.input_scale, ignore_id=inputs.spec.ignore_id),
        batch_size=schedule.seg_batch,
        epoch_size=schedule.epoch_steps(schedule.seg_steps) * schedule.seg_batch,
        resume=resume,
        init=None if resume else init,
        arguments={"adapt_labeler": plan, "frames": {"manual": len(manual), "propagated": len(propagated)}},
    )
    train_segmentation(run, Distributed())
    return out / "seg.onnx"


def train_omega(
    out: Path,
    *,
    groups: list[CycleGroup],
    spec: LabelSpec,
    motion: str,
    tau: float,
    init: Path | None,
    schedule: Schedule,
    cache: Path,
    progress: bool,
) -> Path:
    """Fine-tune Omega (from ``init``, the pretrained one) by cycle consistency (section 3.4) through the
    calibrated motion and tau, each group's keyframes through the g that never saw them."""
    if (out / "metrics.json").is_file():
        return out / "refiner.onnx"
    resume = (out / "refiner.pt").is_file()
    plan = {"steps": schedule.refiner_steps, "lr": schedule.refiner_lr, "motion": motion, "tau": tau}
    widths = load_checkpoint(init, arch="refiner").config.widths if init else RefinerConfig.widths
    run = RefinerRun(
        out=out,
        spec=spec,
        groups=groups,
        segmentation=groups[0].segmentation,
        hyper=schedule.hyper(schedule.refiner_steps, schedule.refiner_lr, progress),
        motions=(motion,),
        taus=(tau,),
        widths=widths,
        crop=REFINER_CROP,
        batch_size=schedule.refiner_batch,
        cache=cache,
        resume=resume,
        init=None if resume else init,
        epoch_size=schedule.epoch_steps(schedule.refiner_steps) * schedule.refiner_batch,
        arguments={"adapt_labeler": plan},
    )
    train_refiner(run, Distributed())
    return out / "refiner.onnx"


def label_drives(
    out: Path, keyframes: Keyframes, part: str, inputs: Inputs, segmentation: Path, motion: str, tau: float,
    radius: int, progress: bool,
) -> list[LabeledImage]:  # fmt: skip
    """Label the drives from the part's keyframes with warp-inpaint (bag_label, resumable) and return
    the propagated frames for self-training g."""
    job = label_job.LabelJob(
        bags=[stream.bag for stream in keyframes.streams_of(part)],
        image_topics=[inputs.topic],
        out=out,
        engines=EngineSources(motion=motion, segmentation=str(segmentation)),
        labels_dir=keyframes.labels_dir(part),
        config=PropagationConfig(Method.WARP_INPAINT, radius, tau),
        progress=progress,
    )
    result = label_job.run(job)
    if result.failures:
        raise BagError("; ".join(result.failures.values()))
    return [item for item in autolabeled_items(out, max_offset=radius) if not item.manual]
