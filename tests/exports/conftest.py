"""A small labeled dataset to export: the tiny synthetic drive, its keyframes, bag_label's output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from bags.conftest import TinyDrive

from warp_refine_ros.cli import bag_label
from warp_refine_ros.synth import DriveConfig, render_drive

TOPIC = "/cam/image_raw"
CAMERA = "cam_image_raw"
RADIUS = 3


@dataclass(frozen=True)
class Labeled:
    drive: TinyDrive
    bags: list[Path]
    keyframes: Path
    dataset: Path

    def relabel(self, keyframes: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
        """bag_label of the same bags and settings with other keyframes; what it printed."""
        args = [*map(str, self.bags), "--image-topic", TOPIC, "--labels", str(keyframes), "--out", str(out)]
        assert (
            bag_label.main([*args, "--method", "motion-only", "--radius", str(RADIUS), "--no-progress"]) == 0
        )
        return capsys.readouterr().out


def label_drives(root: Path, names: list[str], capsys: pytest.CaptureFixture[str]) -> Labeled:
    drive = TinyDrive(render_drive(DriveConfig(width=96, height=72, frames=26, seed=3)).frames)
    bags = [drive.write_bag(root, name=name) for name in names]
    labeled = Labeled(drive, bags, drive.write_keyframes(root / "keyframes"), root / "dataset")
    labeled.relabel(labeled.keyframes, labeled.dataset, capsys)
    return labeled


@pytest.fixture
def labeled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Labeled:
    """One drive labeled motion-only with radius 3 (keyframes 0, 8, 16, 24 of 26 frames)."""
    return label_drives(tmp_path, ["drive"], capsys)
