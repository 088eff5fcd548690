"""Sample inputs for parity checks: a synthetic camera scene prepared exactly as the engines prepare it.

A textured frame with large regions (so networks with trained weights see something image-like),
blocky keyframe labels as one-hot planes, and for motion the same frame shifted a few pixels, all
normalised, resized and padded by the same helpers the engines use.
"""

from __future__ import annotations

import cv2
import numpy as np

from warp_refine_ros.engines.preprocess import image_tensor, scaled_size, working_size
from warp_refine_ros.modelspec import ModelMetadata
from warp_refine_ros.trt.profiles import Size, padded_size, probability_size

SHIFT = (2, 3)  # (dy, dx) camera motion between the two sample frames, pixels


def sample_frames(size: Size, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two RGB frames (the second moved by :data:`SHIFT`) and blocky regions numbered 0..255 of ``size``."""
    height, width = size
    rng = np.random.default_rng(seed)
    dy, dx = SHIFT
    coarse = rng.integers(0, 256, (max(2, height // 24), max(2, width // 24), 3), dtype=np.uint8)
    regions = cv2.resize(coarse, (width + dx, height + dy), interpolation=cv2.INTER_NEAREST)
    grain = rng.normal(0, 12, regions.shape)
    world = cv2.GaussianBlur(np.clip(regions + grain, 0, 255).astype(np.uint8), (0, 0), 1.5)
    blocks = rng.integers(0, 256, (max(1, height // 32), max(1, width // 32)), dtype=np.uint8)
    regions = cv2.resize(blocks, (width, height), interpolation=cv2.INTER_NEAREST)
    image = np.ascontiguousarray(world[dy:, dx:])
    reference = np.ascontiguousarray(world[:height, :width])
    return image, reference, regions


def sample_feeds(
    metadata: ModelMetadata, size: Size, *, segmentation_scale: float | None = None, seed: int = 0
) -> dict[str, np.ndarray]:
    """Float32 inputs by tensor name for one camera image of ``size`` (H, W)."""
    norm = metadata.normalization
    if metadata.arch == "refiner":
        return _refiner_feeds(metadata, size, segmentation_scale or 1.0, seed)
    image, reference, _ = sample_frames(size, seed=seed)
    if metadata.arch == "segmentation":
        return {"image": image_tensor(image, norm, size=scaled_size(*size, metadata.input_scale))}
    height, width = padded_size(size, int(metadata.config.get("pad_multiple", 8)))  # motion
    pad = ((0, 0), (0, 0), (0, height - size[0]), (0, width - size[1]))
    return {
        "image": np.pad(image_tensor(image, norm), pad, mode="edge"),
        "reference": np.pad(image_tensor(reference, norm), pad, mode="edge"),
    }


def _refiner_feeds(
    metadata: ModelMetadata, size: Size, segmentation_scale: float, seed: int
) -> dict[str, np.ndarray]:
    """Omega's inputs at its working size for a camera image of ``size``, beside g's probabilities on
    g's grid for that image."""
    grid = probability_size(size, segmentation_scale)
    size = working_size(*size, int(metadata.config["max_pixels"]))
    image, _, regions = sample_frames(size, seed=seed)
    classes = metadata.spec.num_classes
    one_hot = np.eye(classes, dtype=np.float32)[regions % classes]  # (H, W, C): one class per region
    rng = np.random.default_rng(seed + 1)
    logits = rng.standard_normal((1, classes, *grid)).astype(np.float32)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return {
        "labels": np.ascontiguousarray(one_hot.transpose(2, 0, 1)[None]),
        "trust": (rng.random((1, 1, *size)) < 0.9).astype(np.float32),
        "segmentation": probabilities.astype(np.float32),
        "image": image_tensor(image, metadata.normalization),
    }
