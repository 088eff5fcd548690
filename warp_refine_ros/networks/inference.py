"""The networks as the engines run them: probabilities instead of logits, one graph for torch and ONNX.

The PyTorch backend runs these modules and the exporter traces them, so both backends compute
exactly the same function (the tensor contract is in :mod:`warp_refine_ros.modelspec`).
"""

from __future__ import annotations

import torch
from torch import nn

from warp_refine_ros.networks.blocks import ChannelSoftmax
from warp_refine_ros.networks.refiner import RefinerNet
from warp_refine_ros.networks.segmentation import SegmentationNet


class SegmentationInference(nn.Module):
    """image (B, 3, H, W) -> probabilities (B, C, H/4, W/4), features (B, D, H/8, W/8).

    Probabilities stay at the network's 1/4 resolution: engines resize them once, straight to the
    camera image's size, instead of twice.
    """

    def __init__(self, net: SegmentationNet) -> None:
        super().__init__()
        self.net = net
        self.softmax = ChannelSoftmax(net.config.num_classes)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, features = self.net.coarse(image)
        return self.softmax(logits), features


class RefinerInference(nn.Module):
    """labels (B, C, H, W), trust (B, 1, H, W), segmentation (B, C, h, w), image (B, 3, H, W) ->
    probabilities (B, C, H, W): Omega's output is probabilities already."""

    def __init__(self, net: RefinerNet) -> None:
        super().__init__()
        self.net = net

    def forward(
        self, labels: torch.Tensor, trust: torch.Tensor, segmentation: torch.Tensor, image: torch.Tensor
    ) -> torch.Tensor:
        return self.net(labels, trust, segmentation, image)


def inference_module(net: nn.Module) -> nn.Module:
    """Wrap a segmentation or refiner network for inference, in eval mode."""
    if isinstance(net, SegmentationNet):
        return SegmentationInference(net).eval()
    if isinstance(net, RefinerNet):
        return RefinerInference(net).eval()
    raise TypeError(f"expected a SegmentationNet or RefinerNet, got {type(net).__name__}")
