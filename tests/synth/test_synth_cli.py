"""The synth_drive command."""

from __future__ import annotations

from pathlib import Path

import pytest

from warp_refine_ros.cli import synth_drive


def test_writes_a_drive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "drive"
    argv = [
        str(out),
        "--frames",
        "5",
        "--width",
        "160",
        "--height",
        "120",
        "--seed",
        "3",
        "--keyframe-every",
        "2",
    ]
    status = synth_drive.main(
        [*argv, "--storage", "sqlite3", "--label-topic", "/labels", "--encoding", "bgr8"]
    )
    assert status == 0
    assert (out / "drive" / "drive.db3").is_file()
    assert len(list((out / "keyframes").iterdir())) == 3
    assert len(list((out / "truth").iterdir())) == 5
    assert (out / "classes.yaml").is_file()
    printed = capsys.readouterr().out
    assert "wrote 5 frames (160x120, seed 3)" in printed and "keyframe labels also on /labels" in printed


def test_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert synth_drive.main([str(tmp_path / "a"), "--frames", "0"]) == 2
    assert "error: invalid drive configuration: frames=0" in capsys.readouterr().err
    small = ["--frames", "1", "--width", "32", "--height", "24"]
    assert synth_drive.main([str(tmp_path / "b"), *small, "--storage", "ros1"]) == 0
    assert (tmp_path / "b" / "drive.bag").is_file()
    assert synth_drive.main([str(tmp_path / "b"), *small]) == 2
    assert "is not empty" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        synth_drive.main([str(tmp_path / "c"), "--storage", "zip"])
    assert exit_info.value.code == 2
