"""A small labeled dataset to export: the tiny synthetic drive, its keyframes, bag_label's output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from bags.conftest import TinyDrive

from warp_refine_ros.cli import bag_label
from warp_refine_ros.synth import DriveConfig, render_drive
from warp_refine_ros.synth.config import EPOCH_NS

TOPIC = "/cam/image_raw"
CAMERA = "cam_image_raw"
RADIUS = 3


@dataclass(frozen=True)
class Labeled:
    drive: TinyDrive
    bags: list[Path]
    keyframes: Path
    dataset: Path

    def relabel(
        self, keyframes: Path, out: Path, capsys: pytest.CaptureFixture[str] | None, *extra: str
    ) -> str:
        """bag_label of the same bags and settings with other keyframes; what it printed (with capsys)."""
        args = [*map(str, self.bags), "--image-topic", TOPIC, "--labels", str(keyframes), "--out", str(out)]
        args += ["--method", "motion-only", "--radius", str(RADIUS), "--no-progress", *extra]
        assert bag_label.main(args) == 0
        return capsys.readouterr().out if capsys else ""


def label_drives(
    root: Path, names: list[str], capsys: pytest.CaptureFixture[str] | None, *extra: str
) -> Labeled:
    """Drives of 26 frames (keyframes 0, 8, 16, 24), 10 s apart, labeled motion-only with radius 3."""
    drives = [
        TinyDrive(
            render_drive(
                DriveConfig(width=96, height=72, frames=26, seed=3 + n, start_ns=EPOCH_NS + n * 10**10)
            ).frames
        )
        for n in range(len(names))
    ]
    bags = [
        drive.write_bag(root, "ros1" if name.endswith(".bag") else "mcap", name=name.removesuffix(".bag"))
        for drive, name in zip(drives, names, strict=True)
    ]
    for drive in drives:
        drive.write_keyframes(root / "keyframes")
    labeled = Labeled(drives[0], bags, root / "keyframes", root / "dataset")
    labeled.relabel(labeled.keyframes, labeled.dataset, capsys, *extra)
    return labeled


@pytest.fixture
def labeled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Labeled:
    """One drive labeled."""
    return label_drives(tmp_path, ["drive"], capsys)


@pytest.fixture(scope="module")
def three_bags(tmp_path_factory: pytest.TempPathFactory) -> Labeled:
    """Three drives labeled into one dataset, written once for the module."""
    return label_drives(tmp_path_factory.mktemp("three"), ["drive_a", "drive_b", "drive_c.bag"], None)
