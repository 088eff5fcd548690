"""Validate the refiner the way it is used: propagated mIoU by offset on held-out drives.

Each drive is labeled by the same :class:`StreamLabeler` that bag_label runs (keyframes matched by
stamp, +-radius, forward and backward recursions fused) and every propagated frame is scored against
its ground-truth PNG. Ground truth of non-key frames is read here only, for held-out drives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from warp_refine_ros.bags.keyframes import camera_name
from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.engines.network_backend import NetworkRefiner, NetworkSegmentation
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.evaluation.confusion import ConfusionMatrix, Scores
from warp_refine_ros.labels import LabelSpec, read_label_png
from warp_refine_ros.modelspec import Normalization
from warp_refine_ros.networks.inference import inference_module
from warp_refine_ros.propagation import Frame, LabeledFrame, Propagator, StreamLabeler
from warp_refine_ros.training.sources import KeyframeSource, match_source


@dataclass(frozen=True)
class ValidationDrive:
    """A held-out drive: its bag and topic, its keyframe labels, and truth PNGs of every frame."""

    bag: Path
    topic: str
    keyframes: Path
    truth: Path
    tolerance_ns: int = 0


class ModuleSegmentation(NetworkSegmentation):
    """A segmentation network being trained, as a SegmentationEngine (with the engines' processing)."""

    def __init__(self, net: nn.Module, spec: LabelSpec, normalization: Normalization, device: torch.device):
        self.module = inference_module(net).to(device)
        self.name = "training-segmentation"
        self.spec = spec
        self.normalization = normalization
        self.input_scale = net.config.input_scale
        self.device = device

    @torch.inference_mode()
    def _infer(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        probabilities, features = self.module(torch.from_numpy(image).to(self.device))
        return probabilities.float().cpu().numpy(), features.float().cpu().numpy()


class ModuleRefiner(NetworkRefiner):
    """A refiner network being trained, as a RefinerEngine (same pre- and post-processing as the engines)."""

    def __init__(self, net: nn.Module, normalization: Normalization, device: torch.device):
        self.module = inference_module(net).to(device)
        self.name = "training-refiner"
        self.normalization = normalization
        self.max_pixels = net.config.max_pixels
        self.device = device

    @torch.inference_mode()
    def _infer(
        self, labels: np.ndarray, trust: np.ndarray, segmentation: np.ndarray, image: np.ndarray
    ) -> np.ndarray:
        tensors = (torch.from_numpy(a).to(self.device) for a in (labels, trust, segmentation, image))
        return self.module(*tensors).float().cpu().numpy()


def truth_path(drive: ValidationDrive, stamp_ns: int) -> Path:
    """The truth PNG of a frame: TRUTH/<camera>/<stamp>.png or TRUTH/<stamp>.png."""
    for path in (drive.truth / camera_name(drive.topic) / f"{stamp_ns}.png", drive.truth / f"{stamp_ns}.png"):
        if path.is_file():
            return path
    raise DatasetError(f"{drive.truth} has no truth label for frame {stamp_ns} of {drive.bag} {drive.topic}")


def label_drive(propagator: Propagator, drive: ValidationDrive, radius: int) -> Iterator[LabeledFrame]:
    """Every frame within +-radius of a keyframe of the drive, labeled as bag_label labels it."""
    source = KeyframeSource(drive.bag, drive.topic, drive.keyframes, drive.tolerance_ns)
    stream = match_source(source, propagator.spec)
    keyframe_of = {stream.index.stamps[i]: key for i, key in stream.keyframes.items()}
    in_stream = set(stream.index.stamps)
    labeler = StreamLabeler(propagator, radius)
    with BagReader(drive.bag) as reader:
        for message in reader.images([drive.topic]):
            if message.stamp_ns not in in_stream:
                continue  # a repeated or backwards stamp, skipped as bag_label skips it
            frame = Frame(message.decode(), message.stamp_ns)
            key = keyframe_of.get(message.stamp_ns)
            labels = None
            if key is not None:
                name = stream.labels.name(key)
                labels = propagator.spec.validate(stream.labels.load(key), shape=frame.image.shape, name=name)
            yield from labeler.push(frame, labels)
    yield from labeler.finish()


def propagated_scores(
    propagator: Propagator, drives: list[ValidationDrive], radius: int
) -> dict[int, Scores]:
    """Scores by |offset| 1..radius, pooled over the drives' propagated frames."""
    matrices: dict[int, ConfusionMatrix] = {}
    spec = propagator.spec
    for drive in drives:
        for item in label_drive(propagator, drive, radius):
            offset = abs(item.labeling.offset)
            if offset == 0:
                continue
            path = truth_path(drive, item.frame.stamp_ns)
            truth = spec.validate(read_label_png(path), shape=item.frame.image.shape, name=str(path))
            matrices.setdefault(offset, ConfusionMatrix.for_spec(spec)).update(truth, item.labeling.labels)
    return {offset: matrices[offset].compute() for offset in sorted(matrices)}


def miou_by_offset(scores: dict[int, Scores]) -> dict[str, float | None]:
    """{"1": mIoU, ..., "mean": mean over offsets} for logs and metrics.json."""
    values = {str(k): s.miou for k, s in scores.items()}
    defined = [v for v in values.values() if v is not None]
    return {**values, "mean": float(np.mean(defined)) if defined else None}
