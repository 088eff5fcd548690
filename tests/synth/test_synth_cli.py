"""The synth_drive command."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import pytest
from rosbags.rosbag2 import Writer as Writer2

from warp_refine_ros.cli import synth_drive
from warp_refine_ros.synth import DriveConfig, SynthError
from warp_refine_ros.synth import files as synth_files


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
    assert "already holds a drive" in capsys.readouterr().err
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


SMALL = ["--frames", "6", "--width", "64", "--height", "48", "--keyframe-every", "2", "--no-progress"]


def full_disk_after(calls: int, original: Callable) -> Callable:
    """``original`` failing as a full disk does (ENOSPC) from its ``calls + 1``-th call on."""
    made = []

    def write(*args: object, **kwargs: object) -> object:
        made.append(args)
        if len(made) > calls:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(*args, **kwargs)

    return write


@pytest.mark.parametrize("where", ["bag", "label PNG"])
def test_a_full_disk_is_one_error_line_and_the_rerun_works(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sim"
    with monkeypatch.context() as patch:
        if where == "bag":
            patch.setattr(Writer2, "write", full_disk_after(3, Writer2.write))
        else:
            patch.setattr(synth_files, "_write_png", full_disk_after(4, synth_files._write_png))
        assert synth_drive.main([str(out), *SMALL]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "No space left on device" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert not out.exists(), "nothing half-written is left, not even the folder the run made"
    assert synth_drive.main([str(out), *SMALL]) == 0, capsys.readouterr().err
    assert len(list((out / "truth").iterdir())) == 6 and (out / "drive" / "drive.mcap").is_file()


def test_an_interrupted_drive_leaves_nothing_and_a_kills_leftovers_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sim"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    written = []

    def ctrl_c_on_the_fourth(*args: object) -> None:
        written.append(args)
        if len(written) > 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(synth_files, "_write_png", ctrl_c_on_the_fourth)
    assert synth_drive.main([str(out), *SMALL]) == 130
    monkeypatch.undo()
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"], "the user's file stays, ours go"
    killed = out / ".synth_drive.k1ll3d00.partial"  # what a SIGKILL mid-drive leaves
    (killed / "truth").mkdir(parents=True)
    (killed / "truth" / "1.png").write_bytes(b"half")
    assert synth_drive.main([str(out), *SMALL]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "classes.yaml",
        "drive",
        "keyframes",
        "notes.txt",
        "truth",
    ]
    capsys.readouterr()


def test_name_names_the_bag_and_a_second_drive_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert synth_drive.main([str(tmp_path / "a"), *SMALL, "--name", "seed_3", "--seed", "3"]) == 0
    assert (tmp_path / "a" / "seed_3" / "seed_3.mcap").is_file()
    assert synth_drive.main([str(tmp_path / "b"), *SMALL, "--name", "night", "--storage", "ros1"]) == 0
    assert (tmp_path / "b" / "night.bag").is_file()
    capsys.readouterr()
    assert synth_drive.main([str(tmp_path / "a"), *SMALL, "--name", "seed_4", "--seed", "4"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'a'} already holds a drive" in err and "its own OUT" in err and "--name" in err
    assert not (tmp_path / "a" / "seed_4").exists()
    for bad in ("a/b", ".hidden", "keyframes", ""):
        assert synth_drive.main([str(tmp_path / "c"), *SMALL, "--name", bad]) == 2
        assert "--name" in capsys.readouterr().err
    assert "--name" in synth_drive.get_parser().format_help()


def test_a_log_gets_two_progress_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = [a for a in SMALL if a != "--no-progress"]
    assert synth_drive.main([str(tmp_path / "sim"), *small, "--frames", "30"]) == 0
    err = capsys.readouterr().err  # captured: stderr is not a terminal, as in a log file or CI
    assert "\r" not in err and len(err.splitlines()) == 2 and "30/30" in err.splitlines()[-1]
