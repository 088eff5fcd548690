"""adapt_labeler end to end on a tiny drive of an odd size: outputs, engine set, resume, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from warp_refine_ros.adaptation.pipeline import today
from warp_refine_ros.cli import adapt_labeler, bag_label
from warp_refine_ros.networks.checkpoint import load_checkpoint
from warp_refine_ros.synth import DriveConfig, write_drive

TOPIC = "/camera/image_raw"


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("drive")
    return write_drive(
        out, DriveConfig(width=97, height=61, frames=33, seed=5100), keyframe_every=8, topic=TOPIC
    )


def arguments(drive, out: Path) -> list[str]:
    return [
        str(drive.bag), "--image-topic", TOPIC, "--labels", str(drive.keyframes), "--out", str(out),
        "--classes", str(drive.classes), "--seg-steps", "2", "--refiner-steps", "2", "--rounds", "1",
        "--no-progress",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def adapted(drive, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("adapted") / "out"
    assert adapt_labeler.main(arguments(drive, out)) == 0
    return out


def test_writes_an_engine_set_bag_label_uses_and_a_report(
    adapted: Path, drive, tmp_path: Path, capsys
) -> None:
    report = json.loads((adapted / "report.json").read_text())
    chosen = report["chosen"]
    assert {"method", "tau", "motion", "estimated_miou"} <= set(chosen) and report["candidates"]
    assert (
        report["estimate"]["held_out_keyframes"] == 5 and report["estimate"]["median_frames_travelled"] == 8
    )
    assert {r["stage"] for r in report["candidates"]} >= {"baseline", "calibration"}
    assert all(r["ms_per_frame"] for r in report["candidates"] if r["method"] != "semantic-only")
    assert not (adapted / "work" / "flows").exists()  # every stage's flows, freed once the run is done
    assert (adapted / "report.md").read_text().startswith("# adapt_labeler report")
    assert (adapted / "report.png").read_bytes()[:4] == b"\x89PNG"
    engines = adapted / "engines.yaml"
    mask = os.umask(0)
    os.umask(mask)
    assert {p.stat().st_mode & 0o777 for p in (engines, adapted / "report.json")} == {0o666 & ~mask}
    args = [
        str(drive.bag),
        "--image-topic",
        TOPIC,
        "--labels",
        str(drive.keyframes),
        "--out",
        str(tmp_path / "ds"),
    ]
    assert bag_label.main([*args, "--engines", str(engines), "--no-progress"]) == 0
    run = json.loads((tmp_path / "ds" / "run.json").read_text())
    assert (run["method"], run["tau"]) == (chosen["method"], chosen["tau"])
    assert run["engines"]["loaded"]["motion"] == chosen["motion"]


def test_a_rerun_reads_back_every_stage(adapted: Path, drive, capsys) -> None:
    before = (adapted / "report.json").read_text()
    started = time.perf_counter()
    assert adapt_labeler.main(arguments(drive, adapted)) == 0
    assert time.perf_counter() - started < 20  # nothing is trained or cross-validated again
    assert json.loads((adapted / "report.json").read_text())["candidates"] == json.loads(before)["candidates"]


def test_other_arguments_or_a_foreign_folder_are_refused(
    adapted: Path, drive, tmp_path: Path, capsys
) -> None:
    assert adapt_labeler.main([*arguments(drive, adapted), "--radius", "5"]) == 2
    assert "holds an adaptation run with other arguments (radius)" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("mine")
    assert adapt_labeler.main(arguments(drive, tmp_path)) == 2
    assert "is not empty and holds no adapt_labeler run" in capsys.readouterr().err


def untimed(report: dict) -> dict:
    """A report without what was measured on the clock (stages run again are timed again)."""
    strip = lambda record: {k: v for k, v in record.items() if k != "ms_per_frame"}  # noqa: E731
    return {"chosen": strip(report["chosen"]), "candidates": [strip(r) for r in report["candidates"]]}


@pytest.mark.slow
def test_resume_after_a_kill_equals_an_uninterrupted_run(adapted: Path, drive, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "warp_refine_ros.cli.adapt_labeler", *arguments(drive, out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "work" / "state.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if state.is_file() and '"g fold0 round 0"' in state.read_text():
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait()
    assert not (out / "engines.yaml").exists(), "killed mid-run"
    assert adapt_labeler.main(arguments(drive, out)) == 0
    whole, resumed = (untimed(json.loads((p / "report.json").read_text())) for p in (adapted, out))
    assert resumed["chosen"] == whole["chosen"] and resumed["candidates"] == whole["candidates"]
    assert (out / "engines.yaml").read_text() == (adapted / "engines.yaml").read_text()
    a, b = load_checkpoint(adapted / "seg.pt"), load_checkpoint(out / "seg.pt")
    for name, value in a.state_dict.items():
        torch.testing.assert_close(b.state_dict[name], value, rtol=0, atol=0, msg=name)


def test_a_run_begun_under_other_defaults_is_not_resumed(
    adapted: Path, drive, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "older"
    (out / "work").mkdir(parents=True)
    state = json.loads((adapted / "work" / "state.json").read_text())
    assert state["arguments"]["release_defaults"] == str(today()) == "warp-inpaint tau 40 dis:medium"
    state["arguments"].update(release_defaults="warp-refine tau 40 dis:fast", out=str(out))
    (out / "work" / "state.json").write_text(json.dumps(state))
    assert adapt_labeler.main(arguments(drive, out)) == 2
    assert "holds an adaptation run with other arguments (release_defaults)" in capsys.readouterr().err
