"""Confusion matrix over label ids and the scores derived from it (IoU, mIoU, accuracy, coverage).

Rows are truth classes, columns predicted classes plus one last column for *predicted ignore*.
Pixels whose truth is ignore (or any id outside the spec) are not scored. A predicted ignore on a
scored pixel is a miss for its truth class: a labeler that abstains must not look better than one
that answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warp_refine_ros.labels import LabelSpec


@dataclass(frozen=True)
class Scores:
    """What one confusion matrix says; a class absent from both truth and prediction has IoU None."""

    iou: tuple[float | None, ...]  # per class channel, in spec order
    miou: float | None  # mean over the classes whose IoU is defined
    pixel_accuracy: float | None  # correct / scored truth pixels (predicted ignore counts as wrong)
    coverage: float | None  # fraction of scored truth pixels given a class, i.e. not left as ignore
    pixels: int  # scored truth pixels

    def to_dict(self, names: list[str]) -> dict:
        """JSON-ready mapping with per-class IoU keyed by class name (None -> null)."""
        return {
            "miou": self.miou,
            "pixel_accuracy": self.pixel_accuracy,
            "coverage": self.coverage,
            "pixels": self.pixels,
            "iou": dict(zip(names, self.iou, strict=True)),
        }


class ConfusionMatrix:
    """Accumulates truth-vs-prediction pixel counts for ``num_classes`` classes.

    Ids map to channels through ``id_to_channel`` (256 entries, -1 = not a class), so specs whose
    ids are not 0..C-1 work; by default ids 0..C-1 are the channels. Use :meth:`for_spec`.
    """

    def __init__(self, num_classes: int, *, id_to_channel: np.ndarray | None = None) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        self.num_classes = num_classes
        if id_to_channel is None:
            id_to_channel = np.full(256, -1, dtype=np.int64)
            id_to_channel[: min(num_classes, 256)] = np.arange(min(num_classes, 256))
        channels = np.asarray(id_to_channel, dtype=np.int64)
        if channels.shape != (256,) or channels.max() >= num_classes:
            raise ValueError("id_to_channel must be 256 entries in -1..num_classes-1")
        # Bin of a (truth id, predicted id) pair, looked up from (truth << 8) | pred:
        # (C + 1) * truth_channel + pred_channel, where a predicted non-class id (ignore) is
        # channel C and an unscored truth id goes to one extra bin that is dropped.
        cols = num_classes + 1
        pred = np.where(channels < 0, num_classes, channels)
        bins = np.where(channels[:, None] >= 0, cols * channels[:, None] + pred, num_classes * cols)
        self._bins = bins.astype(np.intp).ravel()  # (65536,)
        self.mat = np.zeros((num_classes, cols), dtype=np.int64)

    @classmethod
    def for_spec(cls, spec: LabelSpec) -> ConfusionMatrix:
        """A matrix whose channels are the spec's classes in order."""
        return cls(spec.num_classes, id_to_channel=spec.id_to_channel)

    def update(self, truth: np.ndarray, pred: np.ndarray) -> None:
        """Add one frame: ``truth`` and ``pred`` are same-shape uint8 label-id images."""
        if truth.shape != pred.shape:
            raise ValueError(f"truth {truth.shape} and prediction {pred.shape} differ in shape")
        if truth.dtype != np.uint8 or pred.dtype != np.uint8:
            raise ValueError(f"label ids must be uint8, got {truth.dtype} and {pred.dtype}")
        pairs = (truth.astype(np.intp) << 8) | pred
        counts = np.bincount(self._bins[pairs.ravel()], minlength=self.mat.size + 1)
        self.mat += counts[:-1].reshape(self.mat.shape)  # the last bin held unscored truth

    def reset(self) -> None:
        self.mat[:] = 0

    def __iadd__(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """Pool another matrix over the same classes into this one."""
        if other.mat.shape != self.mat.shape:
            raise ValueError(f"cannot add a {other.mat.shape} confusion matrix to {self.mat.shape}")
        self.mat += other.mat
        return self

    def compute(self) -> Scores:
        """IoU per class = TP / (TP + FP + FN); FN includes truth pixels predicted as ignore."""
        tp = np.diag(self.mat[:, : self.num_classes])
        truth_total = self.mat.sum(axis=1)  # TP + FN
        pred_total = self.mat[:, : self.num_classes].sum(axis=0)  # TP + FP, on scored pixels only
        union = truth_total + pred_total - tp
        iou = tuple(float(tp[c] / union[c]) if union[c] else None for c in range(self.num_classes))
        defined = [v for v in iou if v is not None]
        pixels = int(truth_total.sum())
        return Scores(
            iou=iou,
            miou=float(np.mean(defined)) if defined else None,
            pixel_accuracy=float(tp.sum() / pixels) if pixels else None,
            coverage=float(1.0 - self.mat[:, -1].sum() / pixels) if pixels else None,
            pixels=pixels,
        )
