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


PROBABILITY_FLOOR = 1e-4  # -log(1e-4) = 9.2: a confident mistake costs a bounded, finite loss


def cycle_loss(probabilities: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """L(L_t, Omega(cycle)) (section 3.4): the negative log-probability Omega gives the keyframe label's
    class, over its labeled pixels (Omega outputs probabilities, convex mixtures of its inputs). Also
    reports the pixel accuracy of the refined labels."""
    labeled = target != IGNORE_INDEX
    picked = probabilities.float().gather(1, target.clamp(max=probabilities.shape[1] - 1)[:, None])[:, 0]
    loss = -(torch.log(picked.clamp_min(PROBABILITY_FLOOR)) * labeled).sum() / labeled.sum().clamp_min(1)
    correct = (probabilities.detach().argmax(dim=1) == target) & labeled
    accuracy = float(correct.sum()) / max(1, int(labeled.sum()))
    return loss, {"loss": float(loss.detach()), "accuracy": accuracy}


def present_classes(batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """A refiner batch (labels, trust, segmentation, image, target) cut to the classes that occur in its
    labels, target or g's arg-max, renumbered; the rest cannot change its loss much and cost most of the
    time (Omega is class-agnostic, so it learns the same on fewer channels)."""
    labels, trust, segmentation, image, target = batch
    keep = labels.amax(dim=(0, 2, 3)) > 0
    keep[target[target != IGNORE_INDEX].unique()] = True
    keep[segmentation.argmax(dim=1).unique()] = True
    renumber = torch.full((256,), IGNORE_INDEX, dtype=torch.int64, device=target.device)
    renumber[torch.nonzero(keep)[:, 0]] = torch.arange(int(keep.sum()), device=target.device)
    renumber[IGNORE_INDEX] = IGNORE_INDEX
    kept = segmentation[:, keep]
    kept = kept / kept.sum(dim=1, keepdim=True).clamp_min(1e-6)
    return labels[:, keep], trust, kept, image, renumber[target]
