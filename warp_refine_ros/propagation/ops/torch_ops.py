"""The torch backend of :class:`ArrayOps`: channels-first tensors on one device (a GPU, or the CPU).

It reproduces the numpy backend's arithmetic, not just its maths: cv2.remap and cv2.resize are
followed bit for bit where OpenCV does not fuse multiply-adds (:mod:`.torch_bilinear`), arg-max ties go
to the highest channel, thresholds are compared in float32, and uint8 outputs round as numpy's do.
Only uint8 maps leave the device while a track runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.ops.protocol import ArrayOps
from warp_refine_ros.propagation.ops.torch_bilinear import remap, resize
from warp_refine_ros.propagation.probabilities import NO_CLASS


@dataclass(frozen=True)
class TorchSampling:
    """Where each target pixel samples the source, as :class:`~warp_refine_ros.propagation.SamplingMap`."""

    map_x: torch.Tensor  # (H, W) float32
    map_y: torch.Tensor  # (H, W) float32
    inside: torch.Tensor  # (H, W) bool, False where the motion points outside the source image


class TorchOps(ArrayOps[torch.Tensor, TorchSampling]):
    """:class:`ArrayOps` on torch: probabilities (C, H, W) float32, images (3, H, W) uint8, on ``device``."""

    name = "torch"

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)

    def image(self, image: np.ndarray) -> torch.Tensor:
        return self._channels_first(image)  # (3, H, W) uint8

    def sampling(self, flow: np.ndarray | torch.Tensor) -> TorchSampling:
        flow = self._tensor(flow)  # (H, W, 2) float32
        height, width = flow.shape[:2]
        map_x = torch.arange(width, dtype=torch.float32, device=self.device) + flow[..., 0]
        map_y = torch.arange(height, dtype=torch.float32, device=self.device)[:, None] + flow[..., 1]
        inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
        return TorchSampling(map_x, map_y, inside)

    def one_hot(self, spec: LabelSpec, labels: np.ndarray) -> torch.Tensor:
        table = torch.as_tensor(spec.id_to_channel.astype(np.int64), device=self.device)  # id -> channel, -1
        channels = table[self._tensor(labels).to(torch.int64)]  # (H, W)
        classes = torch.arange(spec.num_classes, device=self.device)
        return (channels == classes[:, None, None]).to(torch.float32)  # (C, H, W)

    def full_support(self, shape: tuple[int, int]) -> torch.Tensor:
        return torch.ones(shape, dtype=torch.float32, device=self.device)

    def warp(self, values: torch.Tensor, sampling: TorchSampling) -> torch.Tensor:
        planes = values if values.dim() == 3 else values[None]  # one (H, W) map is one plane
        return remap(planes, sampling.map_x, sampling.map_y, "constant").reshape(values.shape)

    def trust(
        self, image: torch.Tensor, source: torch.Tensor, sampling: TorchSampling, tau: float
    ) -> torch.Tensor:
        warped = remap(source, sampling.map_x, sampling.map_y, "replicate")  # (3, H, W) uint8
        difference = image.to(torch.int32) - warped.to(torch.int32)
        distance_sq = (difference * difference).sum(dim=0).to(torch.float32)  # exact integers
        return (distance_sq < float(np.float32(tau * tau))) & sampling.inside

    def support(
        self, support: torch.Tensor, sampling: TorchSampling, trusted: torch.Tensor | None
    ) -> torch.Tensor:
        warped = self.warp(support, sampling)
        return warped if trusted is None else warped * trusted

    def inpaint(
        self, warped: torch.Tensor, trusted: torch.Tensor, segmentation: Segmentation
    ) -> torch.Tensor:
        # g is upsampled at every pixel, not only the untrusted ones: a full-frame select needs no
        # host round trip to count them, and each pixel's value is Segmentation.at's.
        semantic = self._channels_first(segmentation.coarse)  # (C, h, w)
        if semantic.shape[1:] != segmentation.size:  # at the image's size, Segmentation.at samples p * 1
            height, width = segmentation.size
            map_x = _centre_aligned(width, semantic.shape[2], self.device).expand(height, width)
            map_y = _centre_aligned(height, semantic.shape[1], self.device)[:, None].expand(height, width)
            semantic = remap(semantic, map_x, map_y, "replicate")
        return torch.where(trusted, warped, semantic)

    def semantic(self, segmentation: Segmentation, threshold: float) -> torch.Tensor:
        probabilities = self._channels_first(segmentation.coarse)  # (C, h, w)
        if probabilities.shape[1:] != segmentation.size:
            probabilities = resize(probabilities, segmentation.size)  # as Segmentation.probabilities
        best = probabilities.amax(dim=0)
        return probabilities * (best >= float(np.float32(threshold)))

    def mask(self, mask: torch.Tensor) -> np.ndarray:
        return mask.cpu().numpy()

    def channels(self, probabilities: torch.Tensor) -> np.ndarray:
        return _argmax(probabilities)[0].cpu().numpy()  # the confidence stays on the device

    def channels_and_confidence(self, probabilities: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        channels, best = _argmax(probabilities)
        return channels.cpu().numpy(), self.to_uint8(best)

    def to_uint8(self, values: torch.Tensor) -> np.ndarray:
        return (values * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).cpu().numpy()

    def from_numpy(self, probabilities: np.ndarray) -> torch.Tensor:
        return self._channels_first(probabilities)  # (C, H, W)

    def to_numpy(self, probabilities: torch.Tensor) -> np.ndarray:
        return probabilities.permute(1, 2, 0).contiguous().cpu().numpy()  # (H, W, C)

    def _tensor(self, array: np.ndarray | torch.Tensor) -> torch.Tensor:
        """A numpy array or tensor on this backend's device (numpy read-only views are copied first)."""
        if isinstance(array, np.ndarray):
            array = torch.from_numpy(np.require(array, requirements=["C", "W"]))
        return array.to(self.device)

    def _channels_first(self, array: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(H, W, C) channels-last -> (C, H, W) contiguous on the device."""
        return self._tensor(array).permute(2, 0, 1).contiguous()


def _argmax(probabilities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Arg-max channel (H, W) uint8 (NO_CLASS where every class is 0) and its probability, on the device."""
    # the first maximum of the reversed channels is the highest maximal channel, as numpy's
    best, reversed_channel = probabilities.flip(0).max(dim=0)
    channels = probabilities.shape[0] - 1 - reversed_channel
    return torch.where(best > 0, channels, NO_CLASS).to(torch.uint8), best


def _centre_aligned(size: int, coarse_size: int, device: torch.device) -> torch.Tensor:
    """Coarse-grid coordinate (size,) float32 of each image pixel i: (i + 0.5) * scale - 0.5 in float64,
    as ``Segmentation.at`` (and cv2.resize) compute it."""
    index = torch.arange(size, dtype=torch.float64, device=device)
    return ((index + 0.5) * (coarse_size / size) - 0.5).to(torch.float32)
