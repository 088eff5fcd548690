"""The refiner Omega (eq. 8), class-agnostic: learned trust between motion and g, then edge-aware smoothing.

Omega sees what warp-inpaint decides from (section 3.2): the warped labels Lm (one-hot of their arg-max),
the trust mask M of eq. 6, g's probabilities Ls and the image. Instead of eq. 5's hard switch it predicts,
per pixel, how far to trust Lm over Ls, and then moves label mass between neighbouring pixels along the
image's edges (convex combinations over a 3 x 3 neighbourhood, as RAFT's upsampling does, at growing
dilations)::

    alpha = sigmoid(a + s * (2M - 1)) * valid(Lm)                     learned trust; eq. 5's M when a = 0
    L0 = alpha * Lm + (1 - alpha) * Ls                                 soft eq. 5
    L(i+1)(x) = sum_j w_ij(x) * L(i)(x + d_i * o_j)                    o_j in {-1, 0, 1}^2
    w_ij = softmax_j(b_ij + c * [o_j = 0] - e_i * |I(x) - I(x + d_i * o_j)|^2)

The network that predicts a and b never sees a class channel: it reads class-free cues of the inputs at
half resolution (how much g agrees with Lm, g's confidence and entropy, how uniform labels are around a
pixel, M, the image standardised per frame), so one Omega serves any class spec, camera look and g;
its outputs are upsampled, and the image term e_i sharpens the weights at full resolution. The last
layer starts at zero and e_i at nothing: an untrained Omega is warp-inpaint, slightly smoothed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from warp_refine_ros.networks.blocks import ChannelSoftmax, ConvBNAct, InvertedResidual, resize_to

VERSION = 2
"""Version 1 was the paper-style network over one-hot labels, the image and g's features, per class spec."""
CUES = 10  # standardised RGB, trust, valid, agreement, g's confidence, g's entropy, label and g uniformity
NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]  # o_j, the centre is index 4


@dataclass(frozen=True)
class RefinerConfig:
    """Hyper-parameters of Omega; stored whole in checkpoints and ONNX metadata."""

    version: int = VERSION
    widths: tuple[int, ...] = (16, 32, 48, 64)  # encoder channels at 1/2, 1/4, 1/8, 1/16 of the image
    dilations: tuple[int, ...] = (1, 2)  # d_i of the smoothing passes
    trust_scale: float = 4.0  # initial s: how sharply an untrained Omega follows M
    max_pixels: int = 360_000  # larger cameras are refined at this many pixels (engines and training)

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))
        if self.version != VERSION:
            raise ValueError(f"refiner config version {self.version}; this release reads {VERSION}")
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"refiner config needs positive channel counts, got {self}")
        if self.max_pixels < 64:
            raise ValueError(f"refiner max_pixels must be at least 64, got {self.max_pixels}")
        if any(d < 1 for d in self.dilations):
            raise ValueError(f"refiner dilations must be >= 1, got {self.dilations}")

    @property
    def outputs(self) -> int:
        """Channels the head predicts: the trust logit a, then 9 weight logits b per smoothing pass."""
        return 1 + len(NEIGHBOURS) * len(self.dilations)


def neighbourhood(x: torch.Tensor, dilation: int) -> list[torch.Tensor]:
    """x shifted to each of the 9 neighbours at ``dilation`` pixels, edges replicated: x(. + d o_j)."""
    height, width = x.shape[-2:]
    padded = F.pad(x, (dilation, dilation, dilation, dilation), mode="replicate")
    return [
        padded[
            ...,
            dilation * (1 + dy) : dilation * (1 + dy) + height,
            dilation * (1 + dx) : dilation * (1 + dx) + width,
        ]
        for dy, dx in NEIGHBOURS
    ]


def local_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over each pixel's 3 x 3 neighbourhood, edges replicated."""
    return F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)


def standardised(image: torch.Tensor) -> torch.Tensor:
    """Each channel of (B, K, H, W) at zero mean and unit spread over the frame: the same for any
    exposure, gain, offset or input normalisation."""
    mean = image.mean(dim=(2, 3), keepdim=True)
    spread = (image.square().mean(dim=(2, 3), keepdim=True) - mean.square()).clamp_min(1e-6).sqrt()
    return (image - mean) / spread


def cues(labels: torch.Tensor, trust: torch.Tensor, probs: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """The class-free inputs of the network, (B, CUES, h, w), from (B, C, h, w) labels and probabilities."""
    valid = labels.sum(dim=1, keepdim=True)  # 0 where motion left the image
    agreement = (labels * probs).sum(dim=1, keepdim=True)  # g's probability of the warped class
    confidence = probs.amax(dim=1, keepdim=True)
    entropy = -(probs * torch.log(probs.clamp_min(1e-6))).sum(dim=1, keepdim=True)
    label_uniformity = (labels * local_mean(labels)).sum(dim=1, keepdim=True)
    g_uniformity = (probs * local_mean(probs)).sum(dim=1, keepdim=True)
    return torch.cat(
        [standardised(image), trust, valid, agreement, confidence, entropy, label_uniformity, g_uniformity],
        dim=1,
    )


class Level(nn.Module):
    """One encoder scale: a (strided) inverted residual to ``out_channels``, then one more."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            InvertedResidual(in_channels, 2 * in_channels, out_channels, stride=stride),
            InvertedResidual(out_channels, 2 * out_channels, out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Up(nn.Module):
    """Project the deeper map to the skip's width, upsample, add the skip, mix."""

    def __init__(self, deep_channels: int, skip_channels: int) -> None:
        super().__init__()
        self.project = ConvBNAct(deep_channels, skip_channels)
        self.mix = InvertedResidual(skip_channels, 2 * skip_channels, skip_channels)

    def forward(self, deep: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.mix(resize_to(self.project(deep), skip) + skip)


class RefinerNet(nn.Module):
    """Omega: (labels (B, C, H, W), trust (B, 1, H, W), segmentation (B, C, h, w), image (B, 3, H, W))
    -> probabilities (B, C, H, W), for any number of classes C."""

    arch = "refiner"

    def __init__(self, config: RefinerConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        self.levels = nn.ModuleList(
            Level(a, b, stride=1 if i == 0 else 2)
            for i, (a, b) in enumerate(zip((CUES, *widths[:-1]), widths, strict=True))
        )
        self.up = nn.ModuleList(
            Up(deep, skip) for deep, skip in zip(widths[:0:-1], widths[-2::-1], strict=True)
        )
        self.head = nn.Conv2d(widths[0], config.outputs, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.trust_scale = nn.Parameter(torch.tensor(float(config.trust_scale)))
        self.centre = nn.Parameter(torch.tensor(3.0))  # c: an untrained pass keeps most mass in place
        self.edges = nn.Parameter(torch.full((len(config.dilations),), -6.0))  # e_i = softplus: ~0 at first
        self.softmax = ChannelSoftmax(len(NEIGHBOURS))
        centre = torch.zeros(1, len(NEIGHBOURS), 1, 1)
        centre[:, len(NEIGHBOURS) // 2] = 1.0
        self.register_buffer("centre_mask", centre, persistent=False)

    def forward(
        self, labels: torch.Tensor, trust: torch.Tensor, segmentation: torch.Tensor, image: torch.Tensor
    ) -> torch.Tensor:
        half = F.avg_pool2d(labels, 2)  # label fractions at 1/2, (B, C, H/2, W/2)
        x = cues(half, F.avg_pool2d(trust, 2), resize_to(segmentation, half), F.avg_pool2d(image, 2))
        skips = []
        for level in self.levels:
            x = level(x)
            skips.append(x)  # (B, widths[i], H / 2^(i+1), W / 2^(i+1))
        for up, skip in zip(self.up, skips[-2::-1], strict=True):
            x = up(x, skip)  # back up to 1/2
        out = resize_to(self.head(x), labels)  # (B, outputs, H, W): a, then b per pass
        probs = resize_to(segmentation, labels)  # Ls at the image's size
        valid = labels.sum(dim=1, keepdim=True)
        alpha = torch.sigmoid(out[:, :1] + self.trust_scale * (2.0 * trust - 1.0)) * valid
        refined = alpha * labels + (1.0 - alpha) * probs  # soft eq. 5
        grey = standardised(image.mean(dim=1, keepdim=True))  # (B, 1, H, W)
        for index, dilation in enumerate(self.config.dilations):
            first = 1 + len(NEIGHBOURS) * index
            contrast = torch.cat([(grey - other).square() for other in neighbourhood(grey, dilation)], dim=1)
            logits = out[:, first : first + len(NEIGHBOURS)] + self.centre * self.centre_mask
            weights = self.softmax(logits - F.softplus(self.edges[index]) * contrast)  # (B, 9, H, W)
            shifted = neighbourhood(refined, dilation)
            refined = sum(weights[:, j : j + 1] * shifted[j] for j in range(len(NEIGHBOURS)))
        return refined
