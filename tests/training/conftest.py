"""Tiny synthetic drives (64x48, a keyframe every 5 frames) and random-weight engines for training tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from warp_refine_ros.cli import bag_label
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.random_init import write_random_networks
from warp_refine_ros.synth import DriveConfig, DriveFiles, write_drive

TOPIC = "/camera/image_raw"


@pytest.fixture(scope="module", autouse=True)
def _training_on_one_thread(one_thread: None) -> None:
    """Every training test module runs torch on one thread (the shared ``one_thread``)."""


@pytest.fixture(scope="session")
def drives(tmp_path_factory: pytest.TempPathFactory) -> list[DriveFiles]:
    """Two short drives with different seeds: their keyframes are the training labels."""
    root = tmp_path_factory.mktemp("drives")
    return [
        write_drive(
            root / str(seed), DriveConfig(width=64, height=48, frames=12, seed=seed), keyframe_every=5
        )
        for seed in (3, 4)
    ]


@pytest.fixture(scope="session")
def random_engines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Random-weight segmentation and refiner networks as .pt and .onnx (their outputs mean nothing)."""
    return write_random_networks(tmp_path_factory.mktemp("engines"), LabelSpec.default(), seed=1)


@pytest.fixture(scope="session")
def labeled(tmp_path_factory: pytest.TempPathFactory, drives: list[DriveFiles]) -> Path:
    """bag_label output (motion-only, which needs no network) of the first drive, radius 2."""
    out = tmp_path_factory.mktemp("labeled")
    drive = drives[0]
    status = bag_label.main(
        [str(drive.bag), "--image-topic", TOPIC, "--labels", str(drive.keyframes), "--out", str(out),
         "--method", "motion-only", "--radius", "2", "--motion", "dis", "--no-progress"]
    )  # fmt: skip
    assert status == 0
    return out


def bag_arguments(drives: list[DriveFiles]) -> list[str]:
    """--bag/--labels pairs for the drives, and the image topic."""
    arguments = []
    for drive in drives:
        arguments += ["--bag", str(drive.bag), "--labels", str(drive.keyframes)]
    return [*arguments, "--image-topic", TOPIC]
