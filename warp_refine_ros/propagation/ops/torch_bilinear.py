"""cv2.remap and cv2.resize with INTER_LINEAR in torch, bit for bit where OpenCV allows.

cv2.remap (float32 maps) samples in one of two ways, chosen by the image's type (:func:`remap_quantises`):

- *fixed point*: each coordinate is rounded to 1/32 pixel (INTER_BITS = 5, half to even), and the
  four neighbours are weighted by the products of (1 - f, f) on that grid, summed p00, p01, p10, p11;
  8-bit results round half up (INTER_REMAP_COEF_BITS = 15 integer weights, exact here in float32);
- *exact coordinates* (OpenCV >= 4.11, 8U/16U/32F images of 1, 3 or 4 channels): floor and fraction
  of the float coordinate, a lerp along x in both rows, then one along y; 8-bit results round half
  to even.

A neighbour outside the source takes the border, one neighbour at a time: 0 (BORDER_CONSTANT) or
the nearest edge pixel (BORDER_REPLICATE). The neighbours are gathered by index, not through
``grid_sample``: its normalised coordinates come back as pixels with errors of ~1e-4 px, which
breaks the exact 50/50 ties between classes that OpenCV's 1/32-pixel weights make at boundaries.

cv2.resize of float images is separable: a pass along rows, then one along columns (:func:`resize`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F

Border = Literal["constant", "replicate"]
Gather = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

INTER_BITS = 5  # OpenCV's fixed-point maps: coordinates on a 1/32-pixel grid
_TAB = 1 << INTER_BITS


@cache
def remap_quantises(channels: int, integer: bool) -> bool:
    """Whether the installed cv2.remap samples a float32 (or uint8 when ``integer``) image of
    ``channels`` channels on the 1/32-pixel grid; asked of OpenCV once per kind of image."""
    source = np.zeros((1, 2, channels), np.uint8 if integer else np.float32)
    source[0, 1] = 160
    x = np.full((1, 1), 0.1, np.float32)
    sampled = cv2.remap(source, x, np.zeros_like(x), cv2.INTER_LINEAR)
    return float(np.ravel(sampled)[0]) == 15.0  # 160 * 3/32 on the grid, 160 * 0.1 = 16 exactly


def remap(source: torch.Tensor, map_x: torch.Tensor, map_y: torch.Tensor, border: Border) -> torch.Tensor:
    """cv2.remap(source, map_x, map_y, INTER_LINEAR, border) of a (C, h, w) float32 or uint8 tensor:
    (C, H, W) of the source's dtype, sampled at the (H, W) float32 coordinates of the maps."""
    integer = source.dtype == torch.uint8
    gather = _gatherer(source, border)
    if remap_quantises(source.shape[0], integer):
        sampled = _fixed_point(gather, map_x, map_y)
        if integer:
            sampled = torch.floor(sampled + 0.5)  # (sum + 2^14) >> 15 of the integer weights
    else:
        sampled = _exact(gather, map_x, map_y)
        if integer:
            sampled = torch.round(sampled)  # saturate_cast<uchar>(float): half to even
    return sampled.reshape(source.shape[0], *map_x.shape).to(source.dtype)


def _gatherer(source: torch.Tensor, border: Border) -> Gather:
    """A function (x, y) integer pixel coordinates (H, W) -> source values there (C, H*W) float32,
    the border's value where they fall outside the source."""
    channels, height, width = source.shape
    if border == "constant":
        source = F.pad(source, (1, 1, 1, 1))  # a ring of zeros: every outside neighbour reads one
        low, shift = -1, 1
    else:
        low, shift = 0, 0  # an outside neighbour reads the nearest edge pixel
    flat = source.reshape(channels, -1)
    padded_width = width + 2 * shift

    def gather(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        rows = y.clamp(low, height - 1 + shift) + shift
        cols = x.clamp(low, width - 1 + shift) + shift
        return flat.index_select(1, (rows * padded_width + cols).reshape(-1)).to(torch.float32)

    return gather


def _fixed_point(gather: Gather, map_x: torch.Tensor, map_y: torch.Tensor) -> torch.Tensor:
    """OpenCV's remapBilinear on its fixed-point maps: (C, H*W) float32."""
    x = torch.round(map_x * _TAB).to(torch.int32)  # cvRound(map * INTER_TAB_SIZE)
    y = torch.round(map_y * _TAB).to(torch.int32)
    x0, y0 = x >> INTER_BITS, y >> INTER_BITS  # floor, also below 0
    fx = (x & (_TAB - 1)).to(torch.float32) / _TAB  # (H, W) in k/32, exact
    fy = (y & (_TAB - 1)).to(torch.float32) / _TAB
    gx, gy = 1 - fx, 1 - fy
    sampled = gather(x0, y0).mul_((gy * gx).reshape(-1))  # BilinearTab_f: products of the 1-D weights
    sampled.add_(gather(x0 + 1, y0).mul_((gy * fx).reshape(-1)))
    sampled.add_(gather(x0, y0 + 1).mul_((fy * gx).reshape(-1)))
    return sampled.add_(gather(x0 + 1, y0 + 1).mul_((fy * fx).reshape(-1)))


def _exact(gather: Gather, map_x: torch.Tensor, map_y: torch.Tensor) -> torch.Tensor:
    """OpenCV's warp kernels at the float coordinates: (C, H*W) float32."""
    left, top = torch.floor(map_x), torch.floor(map_y)
    fx, fy = (map_x - left).reshape(-1), (map_y - top).reshape(-1)  # exact in float32
    x0, y0 = left.to(torch.int64), top.to(torch.int64)
    upper = _lerp(gather(x0, y0), gather(x0 + 1, y0), fx)
    lower = _lerp(gather(x0, y0 + 1), gather(x0 + 1, y0 + 1), fx)
    return _lerp(upper, lower, fy)


def _lerp(start: torch.Tensor, end: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """start + weight * (end - start), rounded after each operation as OpenCV's kernels do."""
    return end.sub_(start).mul_(weight).add_(start)


def resize(source: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """cv2.resize(source, (W, H), interpolation=INTER_LINEAR) of a (C, h, w) float32 tensor: (C, H, W).

    Pixel centres aligned. Along x the coordinate is clamped to the image (weight 0 on the outer
    tap); along y only the rows are, so an edge row is blended with itself, as OpenCV does.
    """
    height, width = size
    left, right, fx = _resize_taps(width, source.shape[2], source.device, clamp=True)
    rows = source.index_select(2, left).mul_(1 - fx).add_(source.index_select(2, right).mul_(fx))  # (C, h, W)
    top, bottom, fy = _resize_taps(height, source.shape[1], source.device, clamp=False)
    fy = fy[:, None]
    return rows.index_select(1, top).mul_(1 - fy).add_(rows.index_select(1, bottom).mul_(fy))


def _resize_taps(
    size: int, source_size: int, device: torch.device, *, clamp: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """cv2.resize's two source indices (size,) along one axis and the second one's weight (size,) float32;
    ``clamp`` gives weight 0 to a tap past the edge (x), else both taps read the edge (y)."""
    index = torch.arange(size, dtype=torch.float64, device=device)
    position = ((index + 0.5) * (1.0 / (size / source_size)) - 0.5).to(torch.float32)  # double, then float
    first = torch.floor(position)
    weight = position - first
    first = first.to(torch.int64)
    if clamp:
        weight = weight.masked_fill((first < 0) | (first >= source_size - 1), 0.0)
    return first.clamp(0, source_size - 1), (first + 1).clamp(0, source_size - 1), weight
