"""Photometric and geometric augmentation of (image, label) pairs for the segmentation network.

g runs on the camera image resized by its ``input_scale``, so training resizes by that scale times
a random factor, crops a fixed window (padding with black and the ignore id where the image is
smaller, so every camera size gives the same crop size), flips and jitters colours. Validation uses
:meth:`Augmentation.resize` alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from warp_refine_ros.engines.preprocess import scaled_size
from warp_refine_ros.training.crops import crop_array, crop_origin


@dataclass(frozen=True)
class Augmentation:
    """Random scale around ``input_scale``, crop, horizontal flip and colour jitter."""

    input_scale: float = 0.5  # the scale the engines run g at
    scale_range: tuple[float, float] = (0.75, 1.5)  # random factor on top of input_scale
    crop: tuple[int, int] | None = (192, 256)  # (h, w) at the network input; None keeps the whole image
    flip: bool = True
    color: float = 0.25  # amplitude of brightness, contrast and saturation jitter
    ignore_id: int = 255

    def resize(self, image: np.ndarray, labels: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
        """Image (area/linear) and labels (nearest) resized by ``scale``.

        Both sample around each output pixel's centre; OpenCV's plain nearest takes the pixel at its
        top-left corner instead, which shifted labels up and left of the image by up to half a pixel."""
        height, width = scaled_size(*image.shape[:2], scale)
        shrink = height < image.shape[0]
        image = cv2.resize(
            image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        )
        labels = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST_EXACT)
        return image, labels

    def __call__(
        self, image: np.ndarray, labels: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """A randomly augmented copy of (image (H, W, 3) uint8 RGB, labels (H, W) uint8 ids)."""
        low, high = self.scale_range
        image, labels = self.resize(image, labels, self.input_scale * rng.uniform(low, high))
        if self.crop is not None:
            image, labels = self._crop(image, labels, rng)
        if self.flip and rng.random() < 0.5:
            image, labels = image[:, ::-1], labels[:, ::-1]
        if self.color > 0:
            image = self._jitter(image, rng)
        return np.ascontiguousarray(image), np.ascontiguousarray(labels)

    def _crop(
        self, image: np.ndarray, labels: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        origin = crop_origin(rng, labels.shape, self.crop)
        return (
            crop_array(image, origin, self.crop, fill=0),
            crop_array(labels, origin, self.crop, fill=self.ignore_id),
        )

    def _jitter(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """x' = contrast * (x - mean) + mean * brightness, saturation blended with the grey image."""
        brightness, contrast, saturation = 1.0 + self.color * rng.uniform(-1.0, 1.0, size=3)
        pixels = image.astype(np.float32)
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)[..., None]
        pixels = grey + saturation * (pixels - grey)
        mean = float(grey.mean())
        pixels = contrast * (pixels - mean) + mean * brightness
        return np.clip(pixels, 0, 255).astype(np.uint8)
