"""Losses: the cycle loss is zero for a perfect round trip and positive otherwise; g's loss variants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_panning_sequence
from doubles import NoisyTruthSegmentation

from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.refiner import RefinerConfig, RefinerNet
from warp_refine_ros.propagation import Method, Propagator, cycle_propagate
from warp_refine_ros.training.data import IGNORE_INDEX, target_channels
from warp_refine_ros.training.losses import SegmentationLoss, balanced_weights, cycle_loss, ohem_cross_entropy


def refined_cycle_loss(spec: LabelSpec, *, noise: float, length: int = 4) -> float:
    """CE(Omega(L°_t), L_t) through a real cycle with exact motion and a g with this much logit noise.

    The untrained Omega returns ``label_scale * its input``, so the loss measures the round trip.
    """
    sequence = make_panning_sequence(spec, count=8)
    segmentation = NoisyTruthSegmentation(spec, margin=50.0, noise=noise)
    for frame, truth in zip(sequence.frames, sequence.truth, strict=True):
        segmentation.remember(frame.image, truth)
    propagator = Propagator(Method.WARP_INPAINT, spec, motion=sequence.motion, segmentation=segmentation)
    keyframe = sequence.truth[0]
    cycled = cycle_propagate(propagator, sequence.frames[: length + 1], keyframe)
    one_hot = spec.one_hot(spec.to_ids(cycled.argmax(axis=-1).astype(np.uint8)))
    one_hot = torch.from_numpy(one_hot).permute(2, 0, 1)[None]  # (1, C, H, W) for the network
    omega = RefinerNet(RefinerConfig(spec.num_classes, feature_channels=0, widths=(8, 16), label_scale=100.0))
    image = torch.zeros(1, 3, *keyframe.shape)
    target = torch.from_numpy(target_channels(keyframe, spec).astype(np.int64))[None]
    with torch.no_grad():
        loss, _ = cycle_loss(omega.eval()(one_hot, image), target)
    return float(loss)


def test_cycle_loss_is_zero_for_a_perfect_round_trip_and_positive_otherwise(spec: LabelSpec) -> None:
    assert refined_cycle_loss(spec, noise=0.0) == 0.0  # exact motion and exact g: L°_t = L_t
    assert refined_cycle_loss(spec, noise=60.0) > 0.1  # g's errors fill what the cycle left the view on


def test_cycle_loss_ignores_ignore_pixels_and_reports_accuracy() -> None:
    logits = torch.tensor([[[[5.0, 0.0]], [[0.0, 5.0]]]])  # (1, 2, 1, 2): predicts 0 then 1
    target = torch.tensor([[[0, IGNORE_INDEX]]])
    loss, metrics = cycle_loss(logits, target)
    assert metrics["accuracy"] == 1.0 and float(loss) == pytest.approx(np.log1p(np.exp(-5.0)), rel=1e-5)


def test_balanced_weights_favour_rare_classes() -> None:
    weights = balanced_weights(np.array([1000, 10, 0, 100]))
    assert weights[1] > weights[3] > weights[0] and weights[2] == 1.0


def test_ohem_keeps_hard_pixels_only() -> None:
    easy_and_hard = torch.tensor([[[[9.0, 9.0, 0.0, -9.0]], [[0.0, 0.0, 0.0, 9.0]]]])  # (1, 2, 1, 4)
    target = torch.zeros(1, 1, 4, dtype=torch.long)
    everything = torch.nn.functional.cross_entropy(easy_and_hard, target)
    hard = ohem_cross_entropy(easy_and_hard, target, threshold=0.7)
    assert hard > everything  # the two easy pixels no longer dilute the mean
    loss, metrics = SegmentationLoss("ohem")(easy_and_hard, target)
    assert float(loss) == pytest.approx(float(hard)) and metrics["loss"] == pytest.approx(float(hard))
    with pytest.raises(ValueError, match="unknown loss"):
        SegmentationLoss("focal")
