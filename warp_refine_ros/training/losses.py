"""Losses: cross-entropy for g (plain, class-balanced or OHEM) and the refiner's cycle-consistency loss.

Each returns ``(loss, metrics)`` with plain floats in ``metrics``, ignoring IGNORE_INDEX targets.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from warp_refine_ros.training.data import IGNORE_INDEX

LOSSES = ("ce", "balanced", "ohem")


def balanced_weights(counts: np.ndarray, *, power: float = 0.5) -> torch.Tensor:
    """Class weights (median count / count) ** power over the classes present; absent classes get 1.

    ``power`` 1 is median-frequency balancing; 0.5 tempers it so rare classes do not dominate.
    """
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    weights = np.ones_like(counts)
    if present.any():
        weights[present] = (np.median(counts[present]) / counts[present]) ** power
    return torch.tensor(weights, dtype=torch.float32)


def ohem_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, *, threshold: float = 0.7, min_kept: float = 1 / 16
) -> torch.Tensor:
    """Online hard example mining: mean CE over pixels whose true-class probability is below
    ``threshold``, and at least the ``min_kept`` fraction of labeled pixels with the largest losses."""
    losses = F.cross_entropy(logits, target, ignore_index=IGNORE_INDEX, reduction="none").flatten()
    labeled = losses[target.flatten() != IGNORE_INDEX]
    if labeled.numel() == 0:
        return logits.sum() * 0.0
    hard = labeled[labeled > -np.log(threshold)]
    kept = max(1, int(min_kept * labeled.numel()))
    if hard.numel() < kept:
        hard = labeled.topk(kept).values
    return hard.mean()


class SegmentationLoss:
    """The training loss of g: ``ce``, ``balanced`` (class weights) or ``ohem``."""

    def __init__(self, kind: str = "ce", *, weights: torch.Tensor | None = None) -> None:
        if kind not in LOSSES:
            raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")
        if kind == "balanced" and weights is None:
            raise ValueError("the balanced loss needs class weights")
        self.kind = kind
        self.weights = weights

    def __call__(self, logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        if self.kind == "ohem":
            loss = ohem_cross_entropy(logits.float(), target)
        else:
            weights = None if self.weights is None else self.weights.to(logits.device)
            loss = F.cross_entropy(logits.float(), target, weight=weights, ignore_index=IGNORE_INDEX)
        return loss, {"loss": float(loss.detach())}


def cycle_loss(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """L(L_t, Omega(L°_t)) (section 3.4): cross-entropy of the refined cycle labels against the keyframe
    label, over its labeled pixels. Also reports the pixel accuracy of the refined labels."""
    loss = F.cross_entropy(logits.float(), target, ignore_index=IGNORE_INDEX)
    labeled = target != IGNORE_INDEX
    correct = (logits.detach().argmax(dim=1) == target) & labeled
    accuracy = float(correct.sum()) / max(1, int(labeled.sum()))
    return loss, {"loss": float(loss.detach()), "accuracy": accuracy}
