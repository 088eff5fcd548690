"""The array operations of a propagation step, as one protocol that each array backend implements.

The propagation algorithm (which frames, which steps, fusion) is written once against this protocol;
a backend decides only where arrays live and how they are laid out. Per frame of size (H, W) with C
classes, a backend's arrays are: probabilities (C planes; channels-last (H, W, C) in numpy), support
maps (H, W) float32 in [0, 1], trust masks (H, W) bool, images (3 channels uint8) and a sampling
(from a flow). What leaves a backend is numpy: uint8 channel indices, confidence and support, and
float32 probabilities (H, W, C) where training needs them.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

import numpy as np

from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.labels import LabelSpec

ArrayT = TypeVar("ArrayT")
SamplingT = TypeVar("SamplingT")


@runtime_checkable
class ArrayOps(Protocol[ArrayT, SamplingT]):
    """Warp, trust, inpaint and read out labels on one backend's arrays (section 3.2-3.3)."""

    name: str

    def image(self, image: np.ndarray) -> ArrayT:
        """An RGB image (H, W, 3) uint8 as the backend holds it for :meth:`trust`."""
        ...

    def sampling(self, flow: np.ndarray | ArrayT) -> SamplingT:
        """phi, a backward flow (H, W, 2) float32: target pixel x samples the source at x + phi(x) (float32
        sum), and is *inside* where that point lies in [0, W-1] x [0, H-1]."""
        ...

    def one_hot(self, spec: LabelSpec, labels: np.ndarray) -> ArrayT:
        """L_t (eq. 2): label ids (H, W) uint8 as one-hot probabilities; ignore -> all zeros."""
        ...

    def full_support(self, shape: tuple[int, int]) -> ArrayT:
        """The support of a keyframe's own label: ones (H, W) float32."""
        ...

    def warp(self, values: ArrayT, sampling: SamplingT) -> ArrayT:
        """Lm = phi(L) (eq. 3, 9): cv2.remap INTER_LINEAR, BORDER_CONSTANT 0, of probabilities or of one
        (H, W) map. Where OpenCV rounds coordinates to 1/32 pixel (INTER_BITS, fixed-point maps: float
        images of other than 1, 3 or 4 channels, and every image before OpenCV 4.11), so does the backend."""
        ...

    def trust(self, image: ArrayT, source: ArrayT, sampling: SamplingT, tau: float) -> ArrayT:
        """M (eq. 6): ||I_k - phi(I_prev)||_2 < tau on 0..255 RGB, phi(I_prev) by cv2.remap INTER_LINEAR
        with BORDER_REPLICATE rounded to uint8, the squared distance compared with float32(tau^2);
        False wherever the sampling is not inside. (H, W) bool."""
        ...

    def support(self, support: ArrayT, sampling: SamplingT, trusted: ArrayT | None) -> ArrayT:
        """The support carried along the labels' motion: :meth:`warp` of the (H, W) map, times the
        trust mask when there is one (warp-inpaint), not for motion-only."""
        ...

    def inpaint(self, warped: ArrayT, trusted: ArrayT, segmentation: Segmentation) -> ArrayT:
        """LW = M * Lm + (1 - M) * Ls (eq. 5): untrusted pixels take g's probabilities, upsampled from its
        coarse grid as ``Segmentation.at`` does (pixel centres aligned, cv2.remap BORDER_REPLICATE);
        trusted ones keep ``warped``, which may be overwritten."""
        ...

    def semantic(self, segmentation: Segmentation, threshold: float) -> ArrayT:
        """Semantic-only labels: g's probabilities at the image's size (cv2.resize INTER_LINEAR), zeroed
        (-> ignore) where their top probability is below ``threshold``."""
        ...

    def mask(self, mask: ArrayT) -> np.ndarray:
        """A trust mask (H, W) as numpy bool, for the refiner engine."""
        ...

    def channels(self, probabilities: ArrayT) -> np.ndarray:
        """The arg-max channel (H, W) uint8 of :meth:`channels_and_confidence`, without the confidence
        (the refiner's input, a cycle's labels)."""
        ...

    def channels_and_confidence(self, probabilities: ArrayT) -> tuple[np.ndarray, np.ndarray]:
        """Arg-max channel (H, W) uint8 (the highest channel on a tie, NO_CLASS where all are 0) and its
        probability as uint8 confidence (:meth:`to_uint8`)."""
        ...

    def to_uint8(self, values: ArrayT) -> np.ndarray:
        """A [0, 1] map (H, W) as uint8, 255 = 1: clip(v * 255 + 0.5, 0, 255) truncated."""
        ...

    def from_numpy(self, probabilities: np.ndarray) -> ArrayT:
        """Channels-last (H, W, C) float32 probabilities, e.g. a caller's state, as the backend holds them."""
        ...

    def to_numpy(self, probabilities: ArrayT) -> np.ndarray:
        """Probabilities as channels-last (H, W, C) float32 numpy, e.g. as a refiner's training input."""
        ...
