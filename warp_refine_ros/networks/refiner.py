"""The refiner Omega (eq. 8): a pix2pix-style U-Net that denoises warp-inpainted labels.

Inputs are the one-hot warp-inpainted labels L^W, the image and the segmentation network's features,
which are concatenated into the encoder at its deepest scale (section 4.2). The output is residual:
``logits = decoder(...) + s * L^W`` with a learned scale ``s`` and a zero-initialised last layer, so
an untrained refiner returns its input labels and training only has to learn the corrections.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from warp_refine_ros.networks.blocks import ConvBNAct, InvertedResidual, resize_to


@dataclass(frozen=True)
class RefinerConfig:
    """Hyper-parameters of Omega; stored whole in checkpoints and ONNX metadata."""

    num_classes: int = 19
    feature_channels: int = 64  # D of the segmentation features; 0 refines without them
    widths: tuple[int, ...] = (24, 32, 64, 128)  # encoder channels at 1/2, 1/4, 1/8, 1/16 ...
    bottleneck_blocks: int = 3  # inverted residual blocks at the deepest scale
    bottleneck_expansion: int = 2
    label_scale: float = 4.0  # initial s in logits = decoder + s * labels

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if self.num_classes < 1 or self.feature_channels < 0 or not self.widths or min(self.widths) < 1:
            raise ValueError(f"refiner config needs positive channel counts, got {self}")
        if self.bottleneck_blocks < 0 or self.bottleneck_expansion < 1:
            raise ValueError(f"refiner bottleneck needs blocks >= 0 and expansion >= 1, got {self}")

    @property
    def stride(self) -> int:
        """Image pixels per cell of the deepest map, where the features join (2x2 pooling, then a
        halving at every encoder level after the first)."""
        return 2 ** len(self.widths)


class Level(nn.Module):
    """One encoder scale: a (strided) depthwise-separable conv to ``out_channels``, then one more."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            InvertedResidual(in_channels, in_channels, out_channels, stride=stride),
            InvertedResidual(out_channels, out_channels, out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Up(nn.Module):
    """Project the deeper map to the skip's width, upsample, add the skip, mix with a separable conv."""

    def __init__(self, deep_channels: int, skip_channels: int) -> None:
        super().__init__()
        self.project = ConvBNAct(deep_channels, skip_channels)
        self.mix = InvertedResidual(skip_channels, skip_channels, skip_channels)

    def forward(self, deep: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.mix(resize_to(self.project(deep), skip) + skip)


class RefinerNet(nn.Module):
    """Omega: (labels (B, C, H, W), image (B, 3, H, W), features (B, D, h, w)) -> logits (B, C, H, W).

    The encoder starts at half resolution (2x2 average pooling of labels and image: label fractions
    and mean colours), the full-resolution detail comes back through the residual ``s * labels``.
    """

    arch = "refiner"

    def __init__(self, config: RefinerConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        inputs = (config.num_classes + 3, *widths[:-1])
        self.levels = nn.ModuleList(
            Level(a, b, stride=1 if i == 0 else 2)
            for i, (a, b) in enumerate(zip(inputs, widths, strict=True))
        )
        deepest = widths[-1]
        self.inject = (
            ConvBNAct(deepest + config.feature_channels, deepest) if config.feature_channels else None
        )
        self.bottleneck = nn.Sequential(
            *(
                InvertedResidual(deepest, deepest * config.bottleneck_expansion, deepest)
                for _ in range(config.bottleneck_blocks)
            )
        )
        self.up = nn.ModuleList(
            Up(deep, skip) for deep, skip in zip(widths[:0:-1], widths[-2::-1], strict=True)
        )
        self.head = nn.Conv2d(widths[0], config.num_classes, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.label_scale = nn.Parameter(torch.tensor(float(config.label_scale)))

    def forward(
        self, labels: torch.Tensor, image: torch.Tensor, features: torch.Tensor | None = None
    ) -> torch.Tensor:
        x = torch.cat([F.avg_pool2d(labels, 2), F.avg_pool2d(image, 2)], dim=1)  # (B, C + 3, H/2, W/2)
        skips = []
        for level in self.levels:
            x = level(x)
            skips.append(x)  # (B, widths[i], H / 2^(i+1), W / 2^(i+1))
        if self.inject is not None:
            if features is None:
                raise ValueError(f"this refiner takes {self.config.feature_channels}-channel features")
            x = self.inject(torch.cat([x, resize_to(features, x)], dim=1))
        x = self.bottleneck(x)
        for up, skip in zip(self.up, skips[-2::-1], strict=True):
            x = up(x, skip)  # back up to 1/2
        correction = resize_to(self.head(x), labels)  # (B, C, H, W)
        return correction + self.label_scale * labels
