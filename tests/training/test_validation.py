"""Validation on held-out drives: labels of another size than the camera's are named, not a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import pytest

from warp_refine_ros.engines.dis import DisMotion
from warp_refine_ros.errors import LabelError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import Method, Propagator
from warp_refine_ros.synth import DriveFiles
from warp_refine_ros.training.validation import ValidationDrive, propagated_scores

from .conftest import TOPIC


def transposed(source: Path, target: Path) -> Path:
    """A copy of a label folder with every PNG transposed (48x64 instead of 64x48)."""
    target.mkdir()
    for path in source.glob("*.png"):
        cv2.imwrite(str(target / path.name), cv2.imread(str(path), cv2.IMREAD_UNCHANGED).T.copy())
    return target


@pytest.fixture
def motion_only(spec: LabelSpec) -> Propagator:
    return Propagator(Method.MOTION_ONLY, spec, motion=DisMotion())


def test_scores_at_the_camera_size(motion_only: Propagator, drives: list[DriveFiles]) -> None:
    drive = drives[0]
    scores = propagated_scores(
        motion_only, [ValidationDrive(drive.bag, TOPIC, drive.keyframes, drive.truth)], 2
    )
    assert sorted(scores) == [1, 2] and all(0.0 < s.miou <= 1.0 for s in scores.values())


def test_truth_of_another_size_is_named(
    tmp_path: Path, motion_only: Propagator, drives: list[DriveFiles]
) -> None:
    drive = drives[0]
    truth = transposed(drive.truth, tmp_path / "truth")
    with pytest.raises(
        LabelError, match=rf"{tmp_path}/truth/\d+\.png: label is 48x64 but the image is 64x48"
    ):
        propagated_scores(motion_only, [ValidationDrive(drive.bag, TOPIC, drive.keyframes, truth)], 2)


def test_keyframes_of_another_size_are_named(
    tmp_path: Path, motion_only: Propagator, drives: list[DriveFiles]
) -> None:
    drive = drives[0]
    keyframes = transposed(drive.keyframes, tmp_path / "keyframes")
    shutil.copytree(drive.truth, tmp_path / "truth")
    with pytest.raises(LabelError, match=r"\d+\.png: label is 48x64 but the image is 64x48"):
        propagated_scores(motion_only, [ValidationDrive(drive.bag, TOPIC, keyframes, tmp_path / "truth")], 2)
