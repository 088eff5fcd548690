"""train_refiner end to end on tiny drives: outputs, ONNX parity, keyframe-only labels, resume, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from warp_refine_ros.cli import train_refiner
from warp_refine_ros.cli.release import release
from warp_refine_ros.engines.onnx_backend import OnnxRefiner
from warp_refine_ros.engines.torch_backend import TorchRefiner
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.checkpoint import load_checkpoint
from warp_refine_ros.synth import DriveFiles
from warp_refine_ros.training.cycle_cache import load_entry, read_entry
from warp_refine_ros.training.loop import Trainer

from .conftest import bag_arguments

SMALL = ["--widths", "8", "16", "24", "32", "--batch-size", "2", "--no-progress", "--no-tensorboard"]


def refiner_args(drives: list[DriveFiles], engines: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        *bag_arguments(drives),
        "--seg",
        str(engines["segmentation.onnx"]),
        "--out",
        str(out),
        *SMALL,
        *extra,
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, drives, random_engines) -> tuple[Path, list[str]]:
    """A two-epoch run on the tiny drives, with every image file it opened recorded."""
    out = tmp_path_factory.mktemp("refiner")
    opened: list[str] = []
    imread = cv2.imread

    def spy(path: str, *args: object) -> np.ndarray | None:
        opened.append(str(path))
        return imread(path, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cv2, "imread", spy)
        assert (
            train_refiner.main(
                refiner_args(drives, random_engines, out, "--epochs", "2", "--max-length", "3")
            )
            == 0
        )
    return out, opened


def test_writes_checkpoint_onnx_metrics_and_cache(trained: tuple[Path, list[str]], spec: LabelSpec) -> None:
    out, _ = trained
    assert {"refiner.pt", "refiner.onnx", "metrics.json", "cache"} <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["keyframes"] == 6 and len(metrics["history"]) == 2
    assert metrics["arguments"]["command"].startswith("train_refiner --bag ")
    entries = [read_entry(p.parent, 3) for p in (out / "cache").rglob("entry.json")]
    assert len(entries) == 6
    # 12 frames, keyframes 0, 5, 10: frame 0 has no backward cycle, frame 10 only one forward step.
    assert sorted((e.forward, e.backward) for e in entries) == [
        (1, 3),
        (1, 3),
        (3, 0),
        (3, 0),
        (3, 3),
        (3, 3),
    ]
    image, labels, features = load_entry(entries[0])
    assert image.shape == (48, 64, 3) and labels.shape == (48, 64) and features.shape == (64, 3, 4)


def test_reads_no_label_but_the_keyframes(trained: tuple[Path, list[str]], drives: list[DriveFiles]) -> None:
    _, opened = trained
    truth = [p for p in opened if "/truth/" in p]
    assert truth == []  # not one non-key frame's label
    label_files = {Path(p) for p in opened if "/keyframes/" in p}
    keyframes = {d.keyframes / f"{s}.png" for d in drives for s in d.keyframe_stamps_ns}
    assert label_files == keyframes  # each keyframe label read once into the cache
    cached_labels = [Path(p) for p in opened if p.endswith("label.png")]
    assert cached_labels and all(int(p.parent.name) in {s for d in drives for s in d.keyframe_stamps_ns}
                                 for p in cached_labels)  # fmt: skip


def test_onnx_matches_pytorch(trained: tuple[Path, list[str]]) -> None:
    out, _ = trained
    rng = np.random.default_rng(0)
    channels = rng.integers(0, 19, (48, 64)).astype(np.uint8)
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    features = rng.standard_normal((64, 3, 4)).astype(np.float32)
    torch_out = TorchRefiner(out / "refiner.pt").refine(channels, image, features)
    onnx_out = OnnxRefiner(out / "refiner.onnx").refine(channels, image, features)
    np.testing.assert_allclose(onnx_out, torch_out, atol=1e-4)


def test_resume_reaches_the_uninterrupted_weights(
    tmp_path: Path,
    trained: tuple[Path, list[str]],
    drives,
    random_engines,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    reference, _ = trained
    out = tmp_path / "run"
    cache = ["--cache", str(reference / "cache")]
    end_epoch = Trainer.end_epoch

    def stop_after_first(self: Trainer, *args) -> None:
        end_epoch(self, *args)
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "end_epoch", stop_after_first)
    arguments = refiner_args(drives, random_engines, out, "--epochs", "2", "--max-length", "3", *cache)
    assert train_refiner.main(arguments) == 130
    assert load_checkpoint(out / "refiner.pt").training.epoch == 1
    assert "refiner epoch 1/2: loss" in capsys.readouterr().out  # a line an epoch
    monkeypatch.setattr(Trainer, "end_epoch", end_epoch)
    assert train_refiner.main([*arguments, "--resume"]) == 0
    resumed_log = capsys.readouterr().out
    assert "refiner epoch 2/2: loss" in resumed_log and "epoch 1/2" not in resumed_log
    resumed, straight = load_checkpoint(out / "refiner.pt"), load_checkpoint(reference / "refiner.pt")
    assert resumed.training.epoch == 2
    for name, value in straight.state_dict.items():
        torch.testing.assert_close(resumed.state_dict[name], value, rtol=0, atol=0, msg=name)


def test_errors_name_the_fix(tmp_path: Path, drives, random_engines, capsys: pytest.CaptureFixture) -> None:
    arguments = refiner_args(drives, random_engines, tmp_path / "new", "--epochs", "1")
    assert train_refiner.main([*arguments, "--resume"]) == 2
    assert "--resume: " in capsys.readouterr().err
    bad = [
        *bag_arguments(drives),
        "--labels",
        str(tmp_path),
        "--seg",
        str(random_engines["segmentation.onnx"]),
    ]
    assert train_refiner.main([*bad, "--out", str(tmp_path / "x"), *SMALL]) == 2
    assert "once per bag" in capsys.readouterr().err


def test_release_writes_slim_weights_onnx_and_a_card(tmp_path: Path, trained: tuple[Path, list[str]]) -> None:
    out, _ = trained
    paths = release(out / "refiner.pt", tmp_path, data="Two tiny drives.")
    assert [p.name for p in paths] == ["refiner.pt", "refiner.onnx", "refiner.md"]
    slim = load_checkpoint(tmp_path / "refiner.pt")
    assert (
        slim.training is None
        and (tmp_path / "refiner.pt").stat().st_size < (out / "refiner.pt").stat().st_size
    )
    card = (tmp_path / "refiner.md").read_text()
    assert "train_refiner --bag" in card and "- Two tiny drives." in card and "6 labeled keyframes" in card
    OnnxRefiner(tmp_path / "refiner.onnx")  # a complete engine
    older = re.sub(r"`[0-9a-f]{64}`", f"`{'0' * 64}`", card)  # the card of a release with other weights
    (tmp_path / "refiner.md").write_text(older)
    release(out / "refiner.pt", tmp_path)  # released over it: the old card does not stop the new weights
    OnnxRefiner(tmp_path / "refiner.onnx")
