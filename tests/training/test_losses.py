"""Losses: the cycle loss is zero for a perfect round trip and positive otherwise, present_classes;
g's loss variants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_panning_sequence
from doubles import NoisyTruthSegmentation

from warp_refine_ros.engines.preprocess import one_hot_planes
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.random_init import random_network, refiner_inputs
from warp_refine_ros.networks.refiner import RefinerConfig, RefinerNet
from warp_refine_ros.propagation import Method, Propagator, cycles
from warp_refine_ros.training.data import IGNORE_INDEX, target_channels
from warp_refine_ros.training.losses import (
    PROBABILITY_FLOOR,
    SegmentationLoss,
    balanced_weights,
    cycle_loss,
    ohem_cross_entropy,
    present_classes,
)


@pytest.fixture(scope="module")
def trained_like_omega() -> RefinerNet:
    return random_network("refiner", seed=3)


def refined_cycle_loss(spec: LabelSpec, *, noise: float, length: int = 4) -> float:
    """-log Omega(cycle end)[L_t] through a real cycle with exact motion and a g with this much logit noise.

    This Omega is soft eq. 5 with a sharp switch and no smoothing, so the loss measures the round trip:
    the trusted warped labels where motion brought them back, g where it did not.
    """
    sequence = make_panning_sequence(spec, count=8)
    segmentation = NoisyTruthSegmentation(spec, margin=50.0, noise=noise)
    for frame, truth in zip(sequence.frames, sequence.truth, strict=True):
        segmentation.remember(frame.image, truth)
    propagator = Propagator(Method.WARP_INPAINT, spec, motion=sequence.motion, segmentation=segmentation)
    keyframe = sequence.truth[0]
    end = cycles(propagator, sequence.frames[: length + 1], keyframe)[-1]
    labels = torch.from_numpy(one_hot_planes(end.channels, spec.num_classes))[None]  # NO_CLASS: zeros
    trust = torch.from_numpy(end.trusted.astype(np.float32))[None, None]
    g = torch.from_numpy(propagator.segment(sequence.frames[0]).coarse).permute(2, 0, 1)[None]
    omega = RefinerNet(RefinerConfig(widths=(8, 16), dilations=(), trust_scale=50.0))
    image = torch.zeros(1, 3, *keyframe.shape)
    target = torch.from_numpy(target_channels(keyframe, spec).astype(np.int64))[None]
    with torch.no_grad():
        loss, _ = cycle_loss(omega.eval()(labels, trust, g, image), target)
    return float(loss)


def test_cycle_loss_is_zero_for_a_perfect_round_trip_and_positive_otherwise(spec: LabelSpec) -> None:
    assert refined_cycle_loss(spec, noise=0.0) == 0.0  # exact motion and exact g: the keyframe's label
    assert refined_cycle_loss(spec, noise=60.0) > 0.1  # g's errors fill what the cycle left the view on


def test_cycle_loss_is_lower_for_the_right_class() -> None:
    target = torch.tensor([[[0, 1, 2]]])  # (1, 1, 3)
    right = torch.tensor([[[[0.8, 0.1, 0.1]], [[0.1, 0.8, 0.1]], [[0.1, 0.1, 0.8]]]])  # (1, 3, 1, 3)
    wrong = right[:, [1, 2, 0]]
    (low, good), (high, bad) = cycle_loss(right, target), cycle_loss(wrong, target)
    assert float(low) == pytest.approx(-np.log(0.8), rel=1e-5) and good["accuracy"] == 1.0
    assert float(high) == pytest.approx(-np.log(0.1), rel=1e-5) and bad["accuracy"] == 0.0


def test_cycle_loss_ignores_ignore_pixels_and_is_bounded() -> None:
    probabilities = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])  # (1, 2, 1, 2): sure of 0 then 1
    loss, metrics = cycle_loss(probabilities, torch.tensor([[[0, IGNORE_INDEX]]]))
    assert metrics["accuracy"] == 1.0 and float(loss) == 0.0
    loss, metrics = cycle_loss(probabilities, torch.tensor([[[1, 0]]]))  # sure and wrong everywhere
    assert metrics["accuracy"] == 0.0 and float(loss) == pytest.approx(-np.log(PROBABILITY_FLOOR), rel=1e-5)


def test_cycle_loss_trains_through_the_probabilities() -> None:
    logits = torch.zeros(1, 3, 2, 2, requires_grad=True)
    loss, _ = cycle_loss(torch.softmax(logits, dim=1), torch.tensor([[[2, 2], [2, IGNORE_INDEX]]]))
    loss.backward()
    assert (logits.grad[0, 2, :, :].flatten()[:3] < 0).all() and logits.grad[0, :, 1, 1].abs().max() == 0


def test_present_classes_cut_a_batch_to_its_classes_and_renumber_the_target() -> None:
    """Classes of the labels (4), the target (2, 7) and g's arg-max (7, 9) stay, in order, renumbered
    0..3 (2, 4, 7, 9); the other 6 of 10 go, g is renormalised over those kept, ignore stays ignore."""
    labels = torch.zeros(2, 10, 3, 4)
    labels[:, 4] = 1.0
    labels[1, :, 0, 0] = 0.0  # motion left the image there: no class
    trust = torch.ones(2, 1, 3, 4)
    g = torch.full((2, 10, 2, 2), 0.02)
    g[0, 7], g[1, 9] = 0.82, 0.82
    image = torch.randn(2, 3, 3, 4)
    target = torch.full((2, 3, 4), 7)
    target[0, 0, :2] = torch.tensor([2, IGNORE_INDEX])
    kept_labels, kept_trust, kept_g, kept_image, renumbered = present_classes(
        (labels, trust, g, image, target)
    )
    assert kept_labels.shape == (2, 4, 3, 4) and torch.equal(kept_labels[:, 1], labels[:, 4])
    assert kept_labels[:, [0, 2, 3]].abs().max() == 0 and kept_labels[1, :, 0, 0].abs().max() == 0
    assert kept_trust is trust and kept_image is image
    torch.testing.assert_close(kept_g.sum(dim=1), torch.ones(2, 2, 2))
    torch.testing.assert_close(kept_g[0, 2], torch.full((2, 2), 0.82 / 0.88))  # class 7 is kept class 2
    expected = torch.full((2, 3, 4), 2)
    expected[0, 0, :2] = torch.tensor([0, IGNORE_INDEX])
    assert torch.equal(renumbered, expected)


def test_present_classes_leave_the_loss_of_the_kept_classes(trained_like_omega) -> None:
    """Omega is class-agnostic: cutting the absent classes changes its loss only by g's tiny mass there."""
    generator = torch.Generator().manual_seed(0)
    inputs = refiner_inputs(torch.randn(2, 3, 32, 48, generator=generator), generator, classes=4)
    labels, trust, g, image = inputs
    padded_labels = torch.cat([labels, torch.zeros(2, 15, 32, 48)], dim=1)  # 19 classes, 15 absent
    padded_g = torch.cat([g, torch.full((2, 15, *g.shape[2:]), 1e-7)], dim=1)
    padded_g = padded_g / padded_g.sum(dim=1, keepdim=True)
    target = labels.argmax(dim=1)
    with torch.no_grad():
        full, _ = cycle_loss(trained_like_omega(padded_labels, trust, padded_g, image), target)
        cut = present_classes((padded_labels, trust, padded_g, image, target))
        assert cut[0].shape[1] <= 4
        subset, _ = cycle_loss(trained_like_omega(*cut[:4]), cut[4])
    assert float(subset) == pytest.approx(float(full), rel=1e-3)


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
