"""The synth_drive command."""

from __future__ import annotations

from pathlib import Path

import pytest

from warp_refine_ros.cli import synth_drive
from warp_refine_ros.synth import DriveConfig, SynthError


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


def test_look_options_reach_the_drive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def fake_write_drive(out, config, **options):
        seen.update(config=config, **options)
        raise SynthError("stop here")

    monkeypatch.setattr(synth_drive, "write_drive", fake_write_drive)
    argv = [str(tmp_path / "d"), "--encoding", "jpeg", "--jpeg-quality", "40", "--label-spec", "camvid"]
    argv += ["--noise", "5", "--chroma-noise", "3", "--row-noise", "1.5", "--illumination", "0.3"]
    argv += ["--exposure", "0.6", "--gamma", "1.4", "--hue", "-12", "--saturation", "0.7", "--hfov", "90"]
    argv += ["--white-balance", "1.1,1,0.9", "--defocus", "1.5", "--shutter", "0.5"]
    argv += ["--stop", "3,4", "--stop", "12,2"]
    assert synth_drive.main(argv) == 2
    assert seen["config"] == DriveConfig(
        noise_sigma=5.0,
        chroma_noise=3.0,
        row_noise=1.5,
        illumination=0.3,
        exposure=0.6,
        gamma=1.4,
        hue_deg=-12.0,
        saturation=0.7,
        hfov_deg=90.0,
        white_balance=(1.1, 1.0, 0.9),
        defocus_px=1.5,
        shutter=0.5,
        stops=((3.0, 4.0), (12.0, 2.0)),
    )
    assert seen["label_spec"] == "camvid" and seen["jpeg_quality"] == 40


def test_bad_look_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert synth_drive.main([str(tmp_path / "a"), "--jpeg-quality", "50"]) == 2
    assert "--jpeg-quality needs --encoding jpeg" in capsys.readouterr().err
    assert synth_drive.main([str(tmp_path / "b"), "--stop", "3,1", "--stop", "5,1"]) == 2
    assert "overlap" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        synth_drive.main([str(tmp_path / "c"), "--white-balance", "1,1"])
    assert exit_info.value.code == 2
    assert "3 comma-separated numbers" in capsys.readouterr().err
