"""train_seg end to end on tiny drives and folders: outputs, ONNX parity, resume, mixing, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from warp_refine_ros.cli import train_seg
from warp_refine_ros.engines.onnx_backend import OnnxSegmentation
from warp_refine_ros.engines.torch_backend import TorchSegmentation
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.checkpoint import load_checkpoint, save_checkpoint
from warp_refine_ros.networks.random_init import random_network
from warp_refine_ros.networks.segmentation import SegmentationConfig
from warp_refine_ros.synth import DriveFiles
from warp_refine_ros.training.loop import Trainer

from .conftest import bag_arguments

SMALL = ["--crop", "24", "32", "--batch-size", "2", "--width", "0.5", "--feature-channels", "16"]
COMMON = ["--classes", "config/classes/cityscapes.yaml", "--no-progress", "--no-tensorboard", *SMALL]


def folders(root: Path, drive: DriveFiles) -> list[str]:
    """The drive's keyframes as a plain folder of image/label pairs (labels by the same stem)."""
    images, labels = root / "images", root / "labels"
    images.mkdir(parents=True)
    shutil.copytree(drive.keyframes, labels)
    for frame in sorted(labels.glob("*.png")):
        (images / f"{frame.stem}.png").write_bytes(frame.read_bytes())  # any RGB works; a label is one
    return ["--images", str(images), "--image-labels", str(labels)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, drives: list[DriveFiles]) -> Path:
    out = tmp_path_factory.mktemp("seg") / "out"
    arguments = [
        *bag_arguments(drives[:1]),
        "--val-bag",
        str(drives[1].bag),
        "--val-labels",
        str(drives[1].truth),
    ]
    assert train_seg.main([*arguments, *COMMON, "--out", str(out), "--epochs", "2"]) == 0
    return out


def test_writes_checkpoint_onnx_and_metrics(trained: Path, spec) -> None:
    names = {p.name for p in trained.iterdir()}
    assert {"seg.pt", "seg.onnx", "metrics.json"} <= names and "tensorboard" not in names
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["frames"] == {"train_manual": 3, "train_propagated": 0, "val": 12, "epoch_size": 3}
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert 0.0 <= metrics["history"][-1]["val"]["miou"] <= 1.0 and set(metrics["val"]["iou"]) == set(
        spec.names
    )
    checkpoint = load_checkpoint(trained / "seg.pt", arch="segmentation")
    assert checkpoint.training.epoch == 2 and checkpoint.config.feature_channels == 16


def test_onnx_matches_pytorch(trained: Path) -> None:
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    expected = TorchSegmentation(trained / "seg.pt").segment(image)
    found = OnnxSegmentation(trained / "seg.onnx").segment(image)
    np.testing.assert_allclose(found.probabilities, expected.probabilities, atol=1e-4)


def test_resume_reaches_the_uninterrupted_weights(
    tmp_path: Path, trained: Path, drives: list[DriveFiles], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    end_epoch = Trainer.end_epoch

    def stop_after_first(self: Trainer, *args) -> None:
        end_epoch(self, *args)
        raise KeyboardInterrupt

    arguments = [
        *bag_arguments(drives[:1]),
        "--val-bag",
        str(drives[1].bag),
        "--val-labels",
        str(drives[1].truth),
    ]
    arguments += [*COMMON, "--out", str(tmp_path), "--epochs", "2"]
    monkeypatch.setattr(Trainer, "end_epoch", stop_after_first)
    assert train_seg.main(arguments) == 130
    assert "seg epoch 1/2: loss" in capsys.readouterr().out  # a line an epoch
    monkeypatch.setattr(Trainer, "end_epoch", end_epoch)
    assert train_seg.main([*arguments, "--resume"]) == 0
    resumed_log = capsys.readouterr().out
    assert "seg epoch 2/2: loss" in resumed_log and "epoch 1/2" not in resumed_log
    resumed, straight = load_checkpoint(tmp_path / "seg.pt"), load_checkpoint(trained / "seg.pt")
    for name, value in straight.state_dict.items():
        torch.testing.assert_close(resumed.state_dict[name], value, rtol=0, atol=0, msg=name)

    def losses_and_scores(history: list[dict]) -> list[tuple]:
        return [(h["train"]["loss"], h["val"]) for h in history]

    assert losses_and_scores(resumed.training.metrics["history"]) == losses_and_scores(
        straight.training.metrics["history"]
    )


def test_init_starts_from_the_file_and_a_resumed_run_keeps_its_record(
    tmp_path: Path, drives: list[DriveFiles], spec: LabelSpec, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    start = random_network("segmentation", SegmentationConfig(width=0.5, feature_channels=16), seed=11)
    init = save_checkpoint(tmp_path / "start.pt", start, spec=spec)
    arguments = [*bag_arguments(drives[:1]), *COMMON, "--out", str(tmp_path / "out"), "--epochs", "2"]
    arguments += ["--lr", "1e-9"]  # the weights barely move: what comes out is where training started
    end_epoch = Trainer.end_epoch

    def stop_after_first(self: Trainer, *args) -> None:
        end_epoch(self, *args)
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "end_epoch", stop_after_first)
    assert train_seg.main([*arguments, "--init", str(init)]) == 130
    assert f"initialised g from {init} (checkpoint): " in capsys.readouterr().out
    monkeypatch.setattr(Trainer, "end_epoch", end_epoch)
    assert train_seg.main([*arguments, "--resume"]) == 0

    trained = load_checkpoint(tmp_path / "out" / "seg.pt")
    for name, value in start.named_parameters():
        torch.testing.assert_close(trained.state_dict[name], value.detach(), rtol=0, atol=1e-6, msg=name)
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    for record in (trained.metadata["init"], metrics["init"]):
        assert record["file"] == str(init) and record["kind"] == "checkpoint" and record["skipped"] == {}


def test_folders_and_bag_label_output_mix_70_30(
    tmp_path: Path, drives: list[DriveFiles], labeled: Path
) -> None:
    arguments = [*folders(tmp_path / "folder", drives[1]), "--dataset", str(labeled), "--max-offset", "1"]
    assert (
        train_seg.main(
            [*arguments, *COMMON, "--loss", "balanced", "--epochs", "1", "--out", str(tmp_path / "out")]
        )
        == 0
    )
    frames = json.loads((tmp_path / "out" / "metrics.json").read_text())["frames"]
    # manual: 3 folder pairs + 3 keyframes of the dataset; propagated: the 5 frames within 1 of one
    assert frames == {"train_manual": 6, "train_propagated": 5, "val": 0, "epoch_size": 18}


def test_errors_name_the_fix(tmp_path: Path, trained: Path, drives: list[DriveFiles], capsys) -> None:
    assert train_seg.main([*COMMON, "--out", str(tmp_path)]) == 2
    assert "give training data" in capsys.readouterr().err
    assert train_seg.main([*bag_arguments(drives[:1]), *COMMON, "--out", str(trained)]) == 2
    assert "pass --resume to continue" in capsys.readouterr().err
    assert train_seg.main(["--images", str(tmp_path), *COMMON, "--out", str(tmp_path / "x")]) == 2
    assert "give one --image-labels per --images" in capsys.readouterr().err
    init = ["--init", str(trained / "seg.pt"), "--resume"]
    assert train_seg.main([*bag_arguments(drives[:1]), *COMMON, *init, "--out", str(trained)]) == 2
    assert "drop --init" in capsys.readouterr().err
