"""Numbers out of range are refused while the trainers parse their arguments: before any data is read,
with the option and its range named, and no output folder (or cache in it) left behind."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from warp_refine_ros.cli import adapt_labeler, train_refiner, train_seg
from warp_refine_ros.cli.arguments import number, positive_int, unit_interval
from warp_refine_ros.synth import DriveFiles

from .conftest import TOPIC, bag_arguments

TINY = ["--crop", "24", "32", "--batch-size", "2", "--epochs", "1", "--no-progress", "--no-tensorboard"]
SEG = ["--classes", "config/classes/cityscapes.yaml", "--width", "0.5", "--feature-channels", "16", *TINY]
REFINER = ["--widths", "8", "16", "24", "32", "--max-length", "2", *TINY]


def refused(main, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The last stderr line of a command that must stop at argument parsing."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "bad",
    [
        ["--crop", "0", "-5"],
        ["--crop", "0", "0"],
        ["--epochs", "0"],
        ["--batch-size", "0"],
        ["--lr", "0"],
        ["--lr", "nan"],
        ["--weight-decay", "-1"],
        ["--workers", "-1"],
        ["--seed", "-1"],
        ["--width", "0"],
        ["--width", "5"],
        ["--feature-channels", "0"],
        ["--input-scale", "0"],
        ["--input-scale", "1.5"],
        ["--scale-range", "0", "1"],
        ["--scale-range", "2", "1"],
        ["--color", "-1"],
        ["--epoch-size", "0"],
        ["--val-fraction", "1"],
        ["--min-confidence", "2"],
        ["--pixel-confidence", "-0.1"],
        ["--propagated-fraction", "1.5"],
        ["--stamp-tolerance", "-1"],
        ["--max-offset", "-1"],
    ],
    ids=" ".join,
)
def test_train_seg(bad: list[str], drives: list[DriveFiles], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    line = refused(train_seg.main, [*bag_arguments(drives[:1]), *SEG, "--out", str(out), *bad], capsys)
    assert line.startswith("train_seg: error:") and bad[0] in line
    assert not out.exists()


@pytest.mark.parametrize(
    "bad",
    [
        ["--crop", "0", "5"],
        ["--epochs", "0"],
        ["--batch-size", "0"],
        ["--tau", "-1"],
        ["--tau", "nan"],
        ["--min-length", "-1"],
        ["--min-length", "3"],  # above --max-length 2
        ["--samples-per-keyframe", "0"],
        ["--widths", "0", "8"],
        ["--cache-workers", "0"],
        ["--val-radius", "-1"],
        ["--val-every", "0"],
    ],
    ids=" ".join,
)
def test_train_refiner(bad: list[str], drives, random_engines, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    argv = [*bag_arguments(drives[:1]), "--seg", str(random_engines["segmentation.onnx"]), *REFINER]
    line = refused(train_refiner.main, [*argv, "--out", str(out), *bad], capsys)
    assert line.startswith("train_refiner: error:") and bad[0] in line
    assert not out.exists()


@pytest.mark.parametrize(
    "bad",
    [
        ["--radius", "0"],
        ["--budget-minutes", "0"],
        ["--rounds", "-1"],
        ["--seg-steps", "0"],
        ["--refiner-steps", "-3"],
        ["--stamp-tolerance", "-1"],
    ],
    ids=" ".join,
)
def test_adapt_labeler(bad: list[str], drives: list[DriveFiles], tmp_path: Path, capsys) -> None:
    drive, out = drives[0], tmp_path / "out"
    argv = [str(drive.bag), "--image-topic", TOPIC, "--labels", str(drive.keyframes), "--out", str(out)]
    argv += ["--classes", str(drive.classes), "--no-progress"]
    line = refused(adapt_labeler.main, [*argv, *bad], capsys)
    assert line.startswith("adapt_labeler: error:") and bad[0] in line
    assert not out.exists()


def test_the_message_names_the_range() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"need a whole number of 1 or more, got 0"):
        positive_int("0")
    with pytest.raises(argparse.ArgumentTypeError, match=r"need a whole number of 1 or more, got '2.5'"):
        positive_int("2.5")
    with pytest.raises(argparse.ArgumentTypeError, match=r"need a number in \[0, 1\], got inf"):
        unit_interval("inf")
    with pytest.raises(argparse.ArgumentTypeError, match=r"need a number in \(0, 1\), got 1"):
        number(float, above=0, below=1)("1")
    assert number(float, above=0, maximum=4)("4") == 4.0 and positive_int("7") == 7
