"""The teacher segmentation network g: a MobileNetV3-Small-style encoder with an LR-ASPP decoder.

g(I) gives the semantic labels L^s used to inpaint untrusted pixels (eq. 4) and the features the
refiner Omega consumes (section 4.2). It is small enough to train on a CPU and to run at 20+ frames/s
on 640x480 images through ONNX Runtime on two cores (the engine feeds it the image scaled by
``input_scale`` and upsamples the probabilities back).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from warp_refine_ros.networks.blocks import ConvBNAct, InvertedResidual, make_divisible, resize_to

# (expanded, out, kernel, stride, dilation, squeeze-excite, activation) after the stride-2 stem:
# block 0 ends at 1/4, blocks 1-2 at 1/8, the rest stay at 1/16 and dilate instead of striding
# further, as in LR-ASPP.
ENCODER = (
    (16, 16, 3, 2, 1, True, "relu"),  # 1/4
    (72, 24, 3, 2, 1, False, "relu"),  # 1/8
    (88, 24, 3, 1, 1, False, "relu"),  # 1/8 -> low
    (96, 40, 5, 2, 1, True, "hardswish"),  # 1/16
    (240, 40, 5, 1, 1, True, "hardswish"),
    (240, 40, 5, 1, 1, True, "hardswish"),
    (120, 48, 5, 1, 1, True, "hardswish"),
    (144, 48, 5, 1, 1, True, "hardswish"),
    (288, 96, 5, 1, 2, True, "hardswish"),
    (576, 96, 5, 1, 2, True, "hardswish"),
    (576, 96, 5, 1, 2, True, "hardswish"),  # 1/16
)
MAX_WIDTH = 4.0
"""The widest encoder multiplier g takes."""


@dataclass(frozen=True)
class SegmentationConfig:
    """Hyper-parameters of g; stored whole in checkpoints and ONNX metadata."""

    num_classes: int = 19
    width: float = 1.0  # encoder channel multiplier
    feature_channels: int = 64  # D of the features handed to the refiner, at 1/8 of the input
    head_channels: int = 128  # width of the LR-ASPP context branch
    input_scale: float = 0.5  # engines run g on the image resized by this factor

    def __post_init__(self) -> None:
        if self.num_classes < 1 or self.feature_channels < 1 or self.head_channels < 1:
            raise ValueError(f"segmentation config needs positive channel counts, got {self}")
        if not 0 < self.width <= MAX_WIDTH or not 0 < self.input_scale <= 1:
            raise ValueError(f"width must be in (0, {MAX_WIDTH:g}] and input_scale in (0, 1], got {self}")


class SegmentationNet(nn.Module):
    """g: normalised image (B, 3, H, W) -> (class logits (B, C, H, W), features (B, D, H/8, W/8))."""

    arch = "segmentation"

    def __init__(self, config: SegmentationConfig) -> None:
        super().__init__()
        self.config = config
        channels = make_divisible(16 * config.width)
        blocks: list[nn.Module] = [ConvBNAct(3, channels, 3, stride=2, act="hardswish")]  # 1/2
        widths = []
        for expanded, out, kernel, stride, dilation, squeeze, act in ENCODER:
            out = make_divisible(out * config.width)
            blocks.append(
                InvertedResidual(
                    channels,
                    make_divisible(expanded * config.width),
                    out,
                    kernel,
                    stride=stride,
                    dilation=dilation,
                    squeeze=squeeze,
                    act=act,
                )
            )
            widths.append(out)
            channels = out
        self.quarter = nn.Sequential(*blocks[:2])  # stem + block 0 -> 1/4
        self.eighth = nn.Sequential(*blocks[2:4])  # blocks 1-2 -> 1/8
        self.sixteenth = nn.Sequential(*blocks[4:])  # -> 1/16
        quarter_channels, eighth_channels = widths[0], widths[2]
        # LR-ASPP: a 1x1 branch gated by globally pooled context, fused with the 1/8 map.
        self.context = ConvBNAct(channels, config.head_channels)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, config.head_channels, 1), nn.Sigmoid()
        )
        self.fuse = nn.Sequential(
            ConvBNAct(config.head_channels + eighth_channels, config.feature_channels),
            InvertedResidual(config.feature_channels, config.feature_channels, config.feature_channels),
        )
        # FPN-lite detail path: the features upsampled and sharpened with the 1/4 map.
        detail = make_divisible(config.feature_channels / 2)
        self.detail = ConvBNAct(config.feature_channels + quarter_channels, detail)
        self.classifier = nn.Conv2d(detail, config.num_classes, 1)

    def coarse(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits at 1/4 of the input (B, C, H/4, W/4) and features (B, D, H/8, W/8)."""
        quarter = self.quarter(image)  # (B, 16w, H/4, W/4)
        eighth = self.eighth(quarter)  # (B, 24w, H/8, W/8)
        high = self.sixteenth(eighth)  # (B, 96w, H/16, W/16)
        context = self.context(high) * self.gate(high)  # (B, head, H/16, W/16)
        features = self.fuse(torch.cat([resize_to(context, eighth), eighth], dim=1))  # (B, D, H/8, W/8)
        detail = self.detail(torch.cat([resize_to(features, quarter), quarter], dim=1))  # (B, D/2, H/4, W/4)
        return self.classifier(detail), features

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, features = self.coarse(image)
        return resize_to(logits, image), features  # (B, C, H, W), (B, D, H/8, W/8)
