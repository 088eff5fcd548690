"""Array pre- and post-processing every network backend shares: input checks, batches, layouts.

Images become normalised float32 (1, 3, h, w) batches, and network outputs (C, h, w) become
channels-last maps at the image's size, with the same code for PyTorch, ONNX Runtime and TensorRT.
"""

from __future__ import annotations

import cv2
import numpy as np

from warp_refine_ros.errors import EngineError
from warp_refine_ros.modelspec import Normalization


def check_image(image: object, *, name: str = "image") -> np.ndarray:
    """An engine input must be an (H, W, 3) uint8 RGB array; anything else is an EngineError."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"{image.shape} {image.dtype}" if isinstance(image, np.ndarray) else type(image).__name__
        raise EngineError(f"{name}: expected an (H, W, 3) uint8 RGB image, got {got}")
    return image


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(h, w) of an image resized by ``scale``, at least one pixel each way."""
    return max(1, round(height * scale)), max(1, round(width * scale))


def working_size(height: int, width: int, max_pixels: int) -> tuple[int, int]:
    """(h, w) of an image shrunk, keeping its aspect, to at most ``max_pixels``: the refiner's working size
    (its smoothing reaches a few pixels, and a large camera's labels move further per frame)."""
    scale = min(1.0, (max_pixels / (height * width)) ** 0.5)
    return scaled_size(height, width, scale)


def shrink_labels(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Channel indices or a mask (H, W) at ``size`` (h, w), each pixel taking the value at its centre."""
    if array.shape[:2] == size:
        return array
    rows, cols = (
        np.minimum(((np.arange(n) + 0.5) * full / n).astype(np.intp), full - 1)
        for n, full in zip(size, array.shape[:2], strict=True)
    )
    return array[rows[:, None], cols[None, :]]


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An image (H, W, ...) at ``size`` (h, w): pixel areas averaged when shrinking, bilinear when growing."""
    if size == image.shape[:2]:
        return image
    shrink = size[0] < image.shape[0]
    return cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def image_tensor(
    image: np.ndarray, normalization: Normalization, *, size: tuple[int, int] | None = None
) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> normalised float32 (1, 3, h, w), resized to ``size`` = (h, w) if given."""
    if size is not None:
        image = resize_image(image, size)
    scale, offset = normalization.scale_offset()
    batch = np.empty((1, 3, *image.shape[:2]), dtype=np.float32)
    for channel, plane in enumerate(cv2.split(image)):  # one contiguous plane at a time
        out = batch[0, channel]
        out[...] = plane
        out *= scale[channel]
        out += offset[channel]
    return batch


def channels_last(planes: np.ndarray) -> np.ndarray:
    """(C, H, W) network output -> contiguous (H, W, C) float32, the layout of probability maps.

    A blocked 2-D transpose in OpenCV; numpy's strided copy of the same costs a few times more."""
    planes = np.ascontiguousarray(planes, dtype=np.float32)
    count, height, width = planes.shape
    return cv2.transpose(planes.reshape(count, height * width)).reshape(height, width, count)


def one_hot_planes(channels: np.ndarray, num_classes: int) -> np.ndarray:
    """Channel indices (H, W) uint8 -> one-hot planes (C, H, W) float32, the layout networks take.

    Indices outside 0..C-1 (NO_CLASS, where no class had mass) get all zeros."""
    classes = np.arange(num_classes, dtype=np.uint8)[:, None, None]
    return (channels[None] == classes).astype(np.float32)


def resize_planes(planes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinearly resize (C, h, w) float32 planes to (C, H, W); a convex blend, so probabilities stay so."""
    if planes.shape[1:] == (height, width):
        return np.ascontiguousarray(planes, dtype=np.float32)
    out = np.empty((planes.shape[0], height, width), dtype=np.float32)
    for plane, dst in zip(planes, out, strict=True):
        cv2.resize(plane, (width, height), dst=dst, interpolation=cv2.INTER_LINEAR)
    return out
