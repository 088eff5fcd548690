"""The engine steps every network backend shares, around one abstract ``_infer`` each.

PyTorch, ONNX Runtime and TensorRT engines differ only in how they run a network on batched
float32 arrays; :class:`NetworkSegmentation`, :class:`NetworkRefiner` and :class:`NetworkMotion`
turn the protocol calls of :mod:`warp_refine_ros.engines.base` into those arrays and back, so
every backend prepares images and resizes outputs with the same code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.engines.preprocess import (
    channels_last,
    check_image,
    image_tensor,
    one_hot_planes,
    resize_planes,
    scaled_size,
    shrink_labels,
    working_size,
)
from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.modelspec import Normalization


class NetworkSegmentation(ABC):
    """g as an engine: image -> normalised, resized batch -> network -> probabilities at image size."""

    name: str
    spec: LabelSpec
    normalization: Normalization
    input_scale: float

    def segment(self, image: np.ndarray) -> Segmentation:
        """Class probabilities at the network's resolution, upsampled on use (its features go unused)."""
        height, width = check_image(image).shape[:2]
        batch = image_tensor(image, self.normalization, size=scaled_size(height, width, self.input_scale))
        probabilities, _ = self._infer(batch)  # (1, C, h', w') and features (1, D, h'', w'')
        if probabilities.shape[1] != self.spec.num_classes:
            raise EngineError(
                f"{self.name}: the network gives {probabilities.shape[1]} classes "
                f"but its spec has {self.spec.num_classes}"
            )
        return Segmentation(channels_last(probabilities[0]), (height, width))

    @abstractmethod
    def _infer(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on a (1, 3, h, w) batch: (probabilities (1, C, ., .), features (1, D, ., .))."""


class NetworkRefiner(ABC):
    """Omega as an engine: warped labels, trust mask, g's output and image -> probabilities (H, W, C)."""

    name: str
    normalization: Normalization
    max_pixels: int  # the working size's pixels (RefinerConfig.max_pixels)

    def refine(
        self, channels: np.ndarray, trusted: np.ndarray, segmentation: Segmentation, image: np.ndarray
    ) -> np.ndarray:
        """Refined probabilities (H, W, C) over g's C classes; see RefinerEngine.refine."""
        height, width = check_image(image).shape[:2]
        _check_channels(channels, (height, width), self.name)
        if trusted.shape != (height, width) or segmentation.size != (height, width):
            raise EngineError(
                f"{self.name}: trust mask {trusted.shape} and g's output for {segmentation.size} must be "
                f"of the image's size {(height, width)}"
            )
        # Omega is class-agnostic, so it runs on the classes present (the warped labels' and g's arg-max):
        # the rest have no label mass and about none of g's, and cost most of the time.
        coarse = segmentation.coarse
        size = working_size(height, width, self.max_pixels)  # a large camera is refined smaller
        present = np.zeros(coarse.shape[2], dtype=bool)
        present[channels[channels < coarse.shape[2]]] = True
        present[coarse.argmax(axis=2)] = True
        kept = np.flatnonzero(present)
        renumber = np.full(256, 255, dtype=np.uint8)  # absent and no-class indices: no one-hot plane
        renumber[kept] = np.arange(len(kept))
        subset = coarse[..., kept]
        subset /= np.maximum(subset.sum(axis=2, keepdims=True), np.float32(1e-6))
        refined = self._infer(
            one_hot_planes(shrink_labels(renumber[channels], size), len(kept))[None],
            shrink_labels(trusted.astype(np.uint8), size).astype(np.float32)[None, None],
            np.ascontiguousarray(subset.transpose(2, 0, 1)[None], dtype=np.float32),
            image_tensor(image, self.normalization, size=size),
        )
        probabilities = np.zeros((height, width, coarse.shape[2]), dtype=np.float32)
        probabilities[..., kept] = channels_last(resize_planes(refined[0], height, width))
        return probabilities

    @abstractmethod
    def _infer(
        self, labels: np.ndarray, trust: np.ndarray, segmentation: np.ndarray, image: np.ndarray
    ) -> np.ndarray:
        """Run the network on (1, C, H, W), (1, 1, H, W), (1, C, h, w) and (1, 3, H, W) arrays:
        probabilities (1, C, H, W)."""


def _check_channels(channels: object, size: tuple[int, int], engine: str) -> None:
    if isinstance(channels, np.ndarray) and channels.shape == size and channels.dtype == np.uint8:
        return
    got = type(channels).__name__
    if isinstance(channels, np.ndarray):
        got = f"{channels.dtype} {channels.shape}"
    raise EngineError(f"{engine}: labels must be uint8 channel indices {size}, got {got}")


class NetworkMotion(ABC):
    """A learned flow network as an engine: two RGB frames -> backward flow (H, W, 2).

    Networks with a fixed input size get both frames resized to it and the flow scaled back;
    others get them padded (edge-replicated) to a multiple of ``pad_multiple`` and the flow cropped.
    """

    name: str
    normalization: Normalization
    input_size: tuple[int, int] | None  # (h, w) the network was built for, or None for any size
    pad_multiple: int

    def flow(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Backward flow (H, W, 2) float32: ``image(x) ~ reference(x + flow(x))``."""
        height, width = check_image(image).shape[:2]
        if check_image(reference, name="reference").shape != image.shape:
            raise EngineError(
                f"{self.name}: image {image.shape} and reference {reference.shape} differ in size"
            )
        if self.input_size is not None:
            size = self.input_size
            flow = self._infer(
                *(image_tensor(im, self.normalization, size=size) for im in (image, reference))
            )
            flow = resize_planes(flow[0], height, width)
            flow[0] *= width / size[1]
            flow[1] *= height / size[0]
        else:
            pad_h, pad_w = -height % self.pad_multiple, -width % self.pad_multiple
            batches = [
                np.pad(
                    image_tensor(im, self.normalization),
                    ((0, 0), (0, 0), (0, pad_h), (0, pad_w)),
                    mode="edge",
                )
                for im in (image, reference)
            ]
            flow = self._infer(*batches)[0, :, :height, :width]
        return np.ascontiguousarray(flow.transpose(1, 2, 0), dtype=np.float32)

    @abstractmethod
    def _infer(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Run the network on two (1, 3, h, w) batches: flow (1, 2, h, w) in pixels (dx, dy)."""
