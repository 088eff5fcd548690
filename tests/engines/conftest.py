"""Network engine files with random (calibrated) weights, written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.random_init import write_random_networks


@pytest.fixture(scope="session")
def network_files(tmp_path_factory: pytest.TempPathFactory, spec: LabelSpec) -> dict[str, Path]:
    """``segmentation.pt``, ``segmentation.onnx``, ``refiner.pt``, ``refiner.onnx`` by name."""
    return write_random_networks(tmp_path_factory.mktemp("networks"), spec, seed=21)
