"""The refiner Omega: shapes, identity at initialisation, feature handling, size budget."""

from __future__ import annotations

import pytest
import torch

from warp_refine_ros.networks.inference import inference_module
from warp_refine_ros.networks.random_init import random_network
from warp_refine_ros.networks.refiner import RefinerConfig, RefinerNet


def one_hot(classes: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(classes, num_classes).permute(0, 3, 1, 2).float()


@pytest.mark.parametrize(("height", "width", "features_size"), [(64, 96, (8, 12)), (75, 101, (5, 7))])
def test_logits_match_the_labels_shape(height: int, width: int, features_size: tuple[int, int]) -> None:
    net = RefinerNet(RefinerConfig(num_classes=6, feature_channels=16)).eval()
    labels = one_hot(torch.randint(6, (2, height, width)), 6)
    with torch.no_grad():
        logits = net(labels, torch.randn(2, 3, height, width), torch.randn(2, 16, *features_size))
    assert logits.shape == (2, 6, height, width)
    assert logits.dtype == torch.float32


def test_untrained_refiner_returns_its_labels() -> None:
    net = RefinerNet(RefinerConfig(num_classes=5, feature_channels=8)).eval()
    classes = torch.randint(5, (1, 40, 56))
    with torch.no_grad():
        probabilities = inference_module(net)(
            one_hot(classes, 5), torch.randn(1, 3, 40, 56), torch.randn(1, 8, 5, 7)
        )
    assert torch.equal(probabilities.argmax(dim=1), classes)
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(1, 40, 56))


def test_features_change_the_output_of_a_trained_like_refiner() -> None:
    net = random_network("refiner", RefinerConfig(num_classes=4, feature_channels=8), seed=1)
    labels = one_hot(torch.randint(4, (1, 32, 48)), 4)
    image = torch.randn(1, 3, 32, 48)
    with torch.no_grad():
        a = net(labels, image, torch.randn(1, 8, 4, 6))
        b = net(labels, image, torch.randn(1, 8, 4, 6))
    assert (a - b).abs().max() > 1e-3


def test_refiner_without_features() -> None:
    net = RefinerNet(RefinerConfig(num_classes=4, feature_channels=0)).eval()
    with torch.no_grad():
        logits = net(one_hot(torch.randint(4, (1, 32, 48)), 4), torch.randn(1, 3, 32, 48))
    assert logits.shape == (1, 4, 32, 48)


def test_missing_features_are_an_error() -> None:
    net = RefinerNet(RefinerConfig(num_classes=4, feature_channels=8))
    with pytest.raises(ValueError, match="8-channel features"):
        net(torch.zeros(1, 4, 32, 32), torch.zeros(1, 3, 32, 32))


def test_default_size_suits_cpu_training() -> None:
    params = sum(p.numel() for p in RefinerNet(RefinerConfig()).parameters())
    assert 0.2e6 <= params <= 1e6


def test_config_widths_come_back_as_a_tuple() -> None:
    assert RefinerConfig(widths=[8, 16]).widths == (8, 16)
    with pytest.raises(ValueError, match="positive"):
        RefinerConfig(widths=())
