"""The segmentation network g: output shapes at several sizes, size budget, trainability."""

from __future__ import annotations

import pytest
import torch

from warp_refine_ros.networks.inference import inference_module
from warp_refine_ros.networks.random_init import random_network
from warp_refine_ros.networks.segmentation import SegmentationConfig, SegmentationNet


@pytest.mark.parametrize(("height", "width"), [(64, 96), (75, 101)])
def test_logits_at_input_size_and_features_at_one_eighth(height: int, width: int) -> None:
    net = SegmentationNet(SegmentationConfig(num_classes=7, feature_channels=32)).eval()
    with torch.no_grad():
        logits, features = net(torch.randn(2, 3, height, width))
    assert logits.shape == (2, 7, height, width)
    assert logits.dtype == torch.float32
    assert features.shape == (2, 32, -(-height // 8), -(-width // 8))  # strided convs round up


def test_engine_form_gives_probabilities_at_one_quarter() -> None:
    net = random_network("segmentation", SegmentationConfig(num_classes=5), seed=3)
    with torch.no_grad():
        probabilities, features = inference_module(net)(torch.randn(1, 3, 64, 96))
    assert probabilities.shape == (1, 5, 16, 24)
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(1, 16, 24))
    assert probabilities.min() >= 0
    assert probabilities.max(dim=1).values.mean() > 1.5 / 5  # calibrated random weights are not uniform
    assert features.shape == (1, 64, 8, 12)


def test_default_size_suits_cpu_training() -> None:
    params = sum(p.numel() for p in SegmentationNet(SegmentationConfig()).parameters())
    assert 0.5e6 <= params <= 2e6
    slim = sum(p.numel() for p in SegmentationNet(SegmentationConfig(width=0.5)).parameters())
    assert slim < params / 2


def test_invalid_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="input_scale"):
        SegmentationConfig(input_scale=1.5)
    with pytest.raises(ValueError, match="positive"):
        SegmentationConfig(num_classes=0)


def test_a_few_steps_fit_a_fixed_batch() -> None:
    torch.manual_seed(0)
    net = SegmentationNet(SegmentationConfig(num_classes=3))
    blobs = torch.nn.functional.interpolate(torch.randn(2, 3, 6, 8), size=(48, 64), mode="bilinear")
    image = blobs + 0.1 * torch.randn(2, 3, 48, 64)
    target = (blobs[:, 0] > 0).long() + (blobs[:, 1] > 0.5).long()  # classes of colour blobs
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(net(image)[0], target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]
