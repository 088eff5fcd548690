"""The refiner Omega: any number of classes, warp-inpaint at initialisation, distributions, size budget."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from warp_refine_ros.networks.random_init import random_network
from warp_refine_ros.networks.refiner import RefinerConfig, RefinerNet

REACH = 1 + 2  # pixels the default smoothing passes (dilations 1 and 2) can move label mass


def one_hot(classes: torch.Tensor, num_classes: int) -> torch.Tensor:
    return F.one_hot(classes, num_classes).permute(0, 3, 1, 2).float()


def blocks(num_classes: int, size: tuple[int, int], block: int, seed: int) -> torch.Tensor:
    """(1, H, W) class ids constant on ``block`` x ``block`` squares: regions with interiors."""
    generator = torch.Generator().manual_seed(seed)
    height, width = size
    coarse = torch.randint(num_classes, (1, -(-height // block), -(-width // block)), generator=generator)
    return coarse.repeat_interleave(block, 1).repeat_interleave(block, 2)[:, :height, :width]


def interior(classes: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(1, H, W) bool: pixels with one class within REACH of them (away from label boundaries)."""
    window = 2 * REACH + 1
    present = F.max_pool2d(one_hot(classes, num_classes), window, stride=1, padding=REACH)
    return present.sum(dim=1) == 1


def confident(classes: torch.Tensor, num_classes: int, seed: int) -> torch.Tensor:
    """g's probabilities (1, C, h, w): sure of ``classes`` (1, h, w), with some noise."""
    generator = torch.Generator().manual_seed(seed)
    logits = 4.0 * one_hot(classes, num_classes) + torch.randn(
        1, num_classes, *classes.shape[1:], generator=generator
    )
    return torch.softmax(logits, dim=1)


def inputs(num_classes: int, size: tuple[int, int], seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Blocky warped labels, random trust, confident g on g's quarter grid and an image, at ``size``."""
    generator = torch.Generator().manual_seed(seed)
    height, width = size
    labels = one_hot(blocks(num_classes, size, 12, seed), num_classes)
    trust = (torch.rand(1, 1, height, width, generator=generator) < 0.7).float()
    g_classes = blocks(num_classes, (-(-height // 4), -(-width // 4)), 3, seed + 1)
    return labels, trust, confident(g_classes, num_classes, seed), torch.randn(1, 3, height, width)


@pytest.fixture(scope="module")
def trained_like() -> RefinerNet:
    """Omega with random weights and a random head: every input reaches the output."""
    return random_network("refiner", RefinerConfig(), seed=1)


@pytest.mark.parametrize("num_classes", [3, 19])
@pytest.mark.parametrize("size", [(64, 96), (97, 61)])
def test_one_network_refines_any_number_of_classes(
    trained_like: RefinerNet, num_classes: int, size: tuple[int, int]
) -> None:
    with torch.no_grad():
        probabilities = trained_like(*inputs(num_classes, size))
    assert probabilities.shape == (1, num_classes, *size)
    assert probabilities.dtype == torch.float32


@pytest.mark.parametrize("trained", [False, True])
def test_outputs_are_distributions(trained_like: RefinerNet, trained: bool) -> None:
    net = trained_like if trained else RefinerNet(RefinerConfig()).eval()
    labels, trust, segmentation, image = inputs(7, (61, 83), seed=3)
    labels[..., 20:40, 10:30] = 0.0  # where motion left the image: no class, g fills in
    with torch.no_grad():
        probabilities = net(labels, trust, segmentation, image)
    assert probabilities.min() >= 0.0
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(1, 61, 83))


def test_classes_are_interchangeable(trained_like: RefinerNet) -> None:
    """Class-agnostic: permuting the classes of the inputs permutes the output, nothing else."""
    labels, trust, segmentation, image = inputs(6, (48, 64), seed=4)
    order = torch.tensor([3, 0, 5, 1, 4, 2])
    with torch.no_grad():
        straight = trained_like(labels, trust, segmentation, image)
        permuted = trained_like(labels[:, order], trust, segmentation[:, order], image)
    torch.testing.assert_close(permuted, straight[:, order], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("num_classes", [3, 19])
def test_untrained_refiner_keeps_the_trusted_warped_labels(num_classes: int) -> None:
    """Trust everywhere: the warped labels win over a g that disagrees (eq. 5 with M = 1), up to the
    smoothing, which moves little mass at initialisation."""
    net = RefinerNet(RefinerConfig()).eval()
    classes = blocks(num_classes, (97, 61), 12, seed=5)
    _, _, segmentation, image = inputs(num_classes, (97, 61), seed=6)
    with torch.no_grad():
        probabilities = net(one_hot(classes, num_classes), torch.ones(1, 1, 97, 61), segmentation, image)
    away = interior(classes, num_classes)
    assert away.float().mean() > 0.2
    assert torch.equal(probabilities.argmax(dim=1)[away], classes[away])


@pytest.mark.parametrize("num_classes", [3, 19])
def test_untrained_refiner_follows_g_where_motion_is_not_trusted(num_classes: int) -> None:
    """Trust nowhere: g's probabilities, upsampled to the image, decide (eq. 5 with M = 0)."""
    net = RefinerNet(RefinerConfig()).eval()
    labels, _, segmentation, image = inputs(num_classes, (97, 61), seed=7)
    g_classes = F.interpolate(segmentation, size=(97, 61), mode="bilinear", align_corners=False).argmax(dim=1)
    with torch.no_grad():
        probabilities = net(labels, torch.zeros(1, 1, 97, 61), segmentation, image)
    away = interior(g_classes, num_classes)
    assert away.float().mean() > 0.2
    assert torch.equal(probabilities.argmax(dim=1)[away], g_classes[away])


def test_every_input_changes_a_trained_like_refiner(trained_like: RefinerNet) -> None:
    labels, trust, segmentation, image = inputs(5, (32, 48), seed=8)
    others = inputs(5, (32, 48), seed=9)
    with torch.no_grad():
        reference = trained_like(labels, trust, segmentation, image)
        for index in range(4):
            changed = [labels, trust, segmentation, image]
            changed[index] = others[index]
            assert (trained_like(*changed) - reference).abs().max() > 1e-3, index


def test_default_size_suits_cpu_training() -> None:
    """Small enough to train on CPU in minutes; the same size for any class spec."""
    params = sum(p.numel() for p in RefinerNet(RefinerConfig()).parameters())
    assert 2e4 <= params <= 1e6


def test_config_checks() -> None:
    assert RefinerConfig(widths=[8, 16], dilations=[1, 3]).widths == (8, 16)
    with pytest.raises(ValueError, match="positive"):
        RefinerConfig(widths=())
    with pytest.raises(ValueError, match="dilations must be >= 1"):
        RefinerConfig(dilations=(0,))
    with pytest.raises(ValueError, match="version 1; this release reads 2"):
        RefinerConfig(version=1)
