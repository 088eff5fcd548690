"""Shared fixtures: the default class spec and a textured panning sequence with exact labels and motion."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from doubles import KnownShiftMotion, NoisyTruthSegmentation

from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import Frame


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """torch on one thread for a module: small and frame-sized tensors gain little from threads, and on
    a busy machine their synchronisation costs seconds."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def spec() -> LabelSpec:
    return LabelSpec.default()


@pytest.fixture(scope="session")
def network_files(tmp_path_factory: pytest.TempPathFactory, spec: LabelSpec) -> dict[str, Path]:
    """Random-weight (calibrated) networks of the shipped architecture, written once per session:
    ``segmentation.pt``, ``segmentation.onnx``, ``refiner.pt``, ``refiner.onnx`` by name."""
    from warp_refine_ros.networks.random_init import write_random_networks

    return write_random_networks(tmp_path_factory.mktemp("networks"), spec, seed=21)


@pytest.fixture(scope="session")
def random_engines(tmp_path_factory: pytest.TempPathFactory, network_files: dict[str, Path]) -> Path:
    """An engine set of DIS and the random-weight ONNX networks."""
    engines = tmp_path_factory.mktemp("engines") / "engines.yaml"
    engines.write_text(
        f"motion: dis\nsegmentation: {network_files['segmentation.onnx']}\n"
        f"refiner: {network_files['refiner.onnx']}\n"
    )
    return engines


@dataclass
class PanningSequence:
    """Frames cut from one textured picture by a camera panning right by ``step`` pixels a frame."""

    frames: list[Frame]
    truth: list[np.ndarray]
    motion: KnownShiftMotion
    segmentation: NoisyTruthSegmentation


def make_panning_sequence(spec: LabelSpec, count: int = 12, step: int = 3, size=(96, 128)) -> PanningSequence:
    height, width = size
    rng = np.random.default_rng(7)
    world_w = width + step * count + 8
    texture = cv2.GaussianBlur(rng.integers(0, 256, (height, world_w, 3), dtype=np.uint8), (5, 5), 1.5)
    world = np.full((height, world_w), 0, dtype=np.uint8)  # road
    world[: height // 3] = 10  # sky
    world[height // 3 : height // 2, ::17] = 5  # poles
    for x in range(10, world_w - 20, 40):
        world[height // 2 : height // 2 + 20, x : x + 18] = 13  # cars
    motion = KnownShiftMotion()
    segmentation = NoisyTruthSegmentation(spec)
    frames, truth = [], []
    for index in range(count):
        x = index * step
        image = np.ascontiguousarray(texture[:, x : x + width])
        labels = np.ascontiguousarray(world[:, x : x + width])
        motion.remember(image, x, 0)
        segmentation.remember(image, labels)
        frames.append(Frame(image, 1_000_000_000 + index * 100_000_000))
        truth.append(labels)
    return PanningSequence(frames, truth, motion, segmentation)


@pytest.fixture
def panning(spec: LabelSpec) -> PanningSequence:
    return make_panning_sequence(spec)
