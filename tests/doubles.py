"""Test doubles for engines: a segmentation engine that knows the synthetic ground truth.

It answers for images it was given the truth of, corrupted by smooth random logit noise so that it
is confidently wrong in blobs and unsure at boundaries, like a real network. It lives in tests only.
"""

from __future__ import annotations

import hashlib
import time

import cv2
import numpy as np

from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.engines.preprocess import channels_last, one_hot_planes
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.probabilities import NO_CLASS


def image_key(image: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()


class NoisyTruthSegmentation:
    """g(I) = softmax(margin * onehot(truth) + noise): a segmentation engine with controlled errors."""

    name = "noisy-truth"

    def __init__(self, spec: LabelSpec, *, margin: float = 4.0, noise: float = 2.0, blob: float = 12.0):
        self.spec = spec
        self.margin = margin
        self.noise = noise
        self.blob = blob
        self._truth: dict[str, np.ndarray] = {}
        self.calls = 0

    def remember(self, image: np.ndarray, labels: np.ndarray) -> None:
        self._truth[image_key(image)] = labels

    def segment(self, image: np.ndarray) -> Segmentation:
        self.calls += 1
        key = image_key(image)
        truth = self._truth[key]
        rng = np.random.default_rng(int(key[:8], 16))
        logits = self.margin * self.spec.one_hot(truth).transpose(2, 0, 1)  # (C, H, W): a plane a class
        for plane in logits:
            field = rng.standard_normal(truth.shape).astype(np.float32)
            field = cv2.GaussianBlur(field, (0, 0), self.blob)
            plane += self.noise * field / (field.std() + 1e-6)
        logits -= logits.max(axis=0, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=0, keepdims=True)
        probs = np.ascontiguousarray(probs.transpose(1, 2, 0), dtype=np.float32)
        return Segmentation(probs, size=truth.shape)


class KnownShiftMotion:
    """Exact motion for frames cut from one big picture at known offsets: flow = p_image - p_reference."""

    name = "known-shift"

    def __init__(self) -> None:
        self._position: dict[str, tuple[float, float]] = {}
        self.calls = 0

    def remember(self, image: np.ndarray, x: float, y: float) -> None:
        self._position[image_key(image)] = (x, y)

    def flow(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        self.calls += 1
        px, py = self._position[image_key(image)]
        rx, ry = self._position[image_key(reference)]
        flow = np.empty((*image.shape[:2], 2), dtype=np.float32)
        flow[..., 0] = px - rx
        flow[..., 1] = py - ry
        return flow


class RecordingRefiner:
    """Omega double: returns its warped labels one-hot over g's classes, unchanged (g where motion left the
    image), and records what it was given."""

    name = "recording-refiner"

    def __init__(self) -> None:
        self.inputs: list[tuple[np.ndarray, np.ndarray, Segmentation, np.ndarray]] = []

    def refine(
        self, channels: np.ndarray, trusted: np.ndarray, segmentation: Segmentation, image: np.ndarray
    ) -> np.ndarray:
        self.inputs.append((channels, trusted, segmentation, image))
        labels = channels_last(one_hot_planes(channels, segmentation.coarse.shape[2]))
        return np.where(channels[..., None] == NO_CLASS, segmentation.probabilities, labels)


class ProcessWorker:
    """A runners worker that says which process ran each task and how many workers that process built."""

    built = 0  # per process

    def __init__(self, offset: int) -> None:
        type(self).built += 1
        self.offset = offset

    def run(self, task: int) -> tuple[int, int, int]:
        import os

        return os.getpid(), type(self).built, task + self.offset


class CountingMotion:
    """A motion engine that counts its calls and takes DELAY_S for each: ``engine``'s flow, or a random
    one (a new one each call) when none is given."""

    name = "counting"
    DELAY_S = 0.02

    def __init__(self, engine=None) -> None:
        self.engine, self.calls = engine, 0

    def flow(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        self.calls += 1
        time.sleep(self.DELAY_S)
        if self.engine is not None:
            return self.engine.flow(image, reference)
        return np.random.default_rng(self.calls).normal(0, 3, (*image.shape[:2], 2)).astype(np.float32)
