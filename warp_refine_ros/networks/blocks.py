"""Building blocks shared by the segmentation and refiner networks (MobileNet-style, export-friendly).

Every block is plain convolutions, batch norm, ReLU/Hardswish and bilinear resizes, which the
TorchScript ONNX exporter maps to opset-17 operators that ONNX Runtime and TensorRT both run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "hardswish": nn.Hardswish, "none": nn.Identity}


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` without losing more than 10 % of it."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def resize_to(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Bilinearly resize ``x`` (B, C, h, w) to the spatial size of ``reference`` (B, *, H, W)."""
    return F.interpolate(x, size=reference.shape[-2:], mode="bilinear", align_corners=False)


class ConvBNAct(nn.Sequential):
    """k x k convolution (optionally strided, dilated or depthwise) -> batch norm -> activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int = 1,
        *,
        stride: int = 1,
        groups: int = 1,
        dilation: int = 1,
        act: str = "relu",
    ) -> None:
        padding = dilation * (kernel - 1) // 2
        super().__init__(
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel,
                stride=stride,
                padding=padding,
                dilation=dilation,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
            ACTIVATIONS[act](),
        )


class SqueezeExcite(nn.Module):
    """Channel attention: x * hardsigmoid(W2 relu(W1 mean_hw(x)))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        squeezed = make_divisible(channels / 4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.expand(F.relu(self.reduce(self.pool(x))))  # (B, C, 1, 1)
        return x * F.hardsigmoid(scale)


class InvertedResidual(nn.Module):
    """MobileNetV2/V3 block: 1x1 expand -> k x k depthwise -> (SE) -> 1x1 project, + x when shapes match.

    With ``expanded == in_channels`` the expansion is skipped, giving a depthwise-separable conv.
    """

    def __init__(
        self,
        in_channels: int,
        expanded: int,
        out_channels: int,
        kernel: int = 3,
        *,
        stride: int = 1,
        dilation: int = 1,
        squeeze: bool = False,
        act: str = "relu",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvBNAct(in_channels, expanded, act=act))
        layers.append(
            ConvBNAct(expanded, expanded, kernel, stride=stride, groups=expanded, dilation=dilation, act=act)
        )
        if squeeze:
            layers.append(SqueezeExcite(expanded))
        layers.append(ConvBNAct(expanded, out_channels, act="none"))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class ChannelSoftmax(nn.Module):
    """Softmax over dim 1 as exp(x - max) / sum, written for ONNX Runtime on CPU and TensorRT fp16.

    At 19x480x640, ORT's Softmax on a non-last axis transposes and costs ~7x more; its ReduceMax and
    ReduceSum over dim 1 are 3-4x slower than a chain of elementwise Max and a 1x1 convolution with
    unit weights. Subtracting the max keeps exp() <= 1, so fp16 engines cannot overflow.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("ones", torch.ones(1, channels, 1, 1), persistent=False)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        planes = logits.split(1, dim=1)
        peak = planes[0]
        for plane in planes[1:]:
            peak = torch.maximum(peak, plane)  # max_c, (B, 1, H, W)
        shifted = torch.exp(logits - peak)  # (B, C, H, W), at most 1
        return shifted / F.conv2d(shifted, self.ones)  # / sum_c
