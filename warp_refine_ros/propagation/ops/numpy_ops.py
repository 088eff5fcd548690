"""The numpy/OpenCV backend of :class:`ArrayOps`: channels-last arrays on the CPU, the reference semantics."""

from __future__ import annotations

import numpy as np

from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.ops.protocol import ArrayOps
from warp_refine_ros.propagation.probabilities import (
    argmax_confidence,
    confidence_to_uint8,
    inpaint,
    mask_uncertain,
    pixels_of,
)
from warp_refine_ros.propagation.trust import trust_mask
from warp_refine_ros.propagation.warp import SamplingMap, sampling_map, warp_probabilities


class NumpyOps(ArrayOps[np.ndarray, SamplingMap]):
    """:class:`ArrayOps` on numpy: probabilities (H, W, C) float32, OpenCV for sampling (one CPU core)."""

    name = "numpy"

    def image(self, image: np.ndarray) -> np.ndarray:
        return image

    def sampling(self, flow: np.ndarray) -> SamplingMap:
        return sampling_map(flow)

    def one_hot(self, spec: LabelSpec, labels: np.ndarray) -> np.ndarray:
        return spec.one_hot(labels)

    def full_support(self, shape: tuple[int, int]) -> np.ndarray:
        return np.ones(shape, dtype=np.float32)

    def warp(self, values: np.ndarray, sampling: SamplingMap) -> np.ndarray:
        return warp_probabilities(values, sampling)

    def trust(self, image: np.ndarray, source: np.ndarray, sampling: SamplingMap, tau: float) -> np.ndarray:
        return trust_mask(image, source, sampling, tau)

    def support(self, support: np.ndarray, sampling: SamplingMap, trusted: np.ndarray | None) -> np.ndarray:
        warped = warp_probabilities(support, sampling)
        if trusted is not None:
            warped *= trusted
        return warped

    def inpaint(self, warped: np.ndarray, trusted: np.ndarray, segmentation: Segmentation) -> np.ndarray:
        untrusted = pixels_of(~trusted)  # g is upsampled only there
        return inpaint(warped, untrusted, segmentation.at(untrusted))

    def semantic(self, segmentation: Segmentation, threshold: float) -> np.ndarray:
        return mask_uncertain(segmentation.probabilities, threshold)

    def mask(self, mask: np.ndarray) -> np.ndarray:
        return mask

    def channels(self, probabilities: np.ndarray) -> np.ndarray:
        return argmax_confidence(probabilities)[0]

    def channels_and_confidence(self, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        channels, confidence = argmax_confidence(probabilities)
        return channels, confidence_to_uint8(confidence)

    def to_uint8(self, values: np.ndarray) -> np.ndarray:
        return confidence_to_uint8(values)

    def from_numpy(self, probabilities: np.ndarray) -> np.ndarray:
        return probabilities

    def to_numpy(self, probabilities: np.ndarray) -> np.ndarray:
        return probabilities
