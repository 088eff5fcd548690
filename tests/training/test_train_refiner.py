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
from warp_refine_ros.engines.torch_backend import TorchRefiner, TorchSegmentation
from warp_refine_ros.labels import LabelClass, LabelSpec
from warp_refine_ros.networks.checkpoint import load_checkpoint, save_checkpoint
from warp_refine_ros.networks.random_init import random_network
from warp_refine_ros.networks.refiner import RefinerConfig
from warp_refine_ros.synth import DriveFiles
from warp_refine_ros.training.cycle_cache import CycleSettings, load_cycle, load_entry, read_entry
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
    for entry in entries:  # version 2: what Omega sees arriving back, for every length and direction
        data = json.loads((entry.folder / "entry.json").read_text())
        assert data["version"] == 2 and (data["motion"], data["tau"]) == ("dis:medium", 40.0)
        for direction in ("forward", "backward"):
            for length in range(1, entry.lengths(direction) + 1):
                channels, trusted = load_cycle(entry, direction, length)
                assert channels.shape == trusted.shape == (48, 64)
                assert channels.dtype == np.uint8 and trusted.dtype == bool
                assert set(np.unique(channels).tolist()) <= {*range(19), 255}
            assert not entry.cycle(direction, entry.lengths(direction) + 1).exists()
    image, labels, segmentation = load_entry(entries[0])
    assert image.shape == (48, 64, 3) and labels.shape == (48, 64)
    assert segmentation.shape == (6, 8, 19)  # g's probabilities on its grid: 1/4 of 48x64 at input_scale 0.5
    np.testing.assert_allclose(segmentation.sum(axis=-1), 1.0, atol=1e-2)  # stored as float16


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


@pytest.mark.parametrize("classes", [19, 3])
def test_onnx_matches_pytorch(trained: tuple[Path, list[str]], random_engines, classes: int) -> None:
    out, _ = trained
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    segmentation = TorchSegmentation(random_engines["segmentation.pt"]).segment(image)
    channels = rng.integers(0, classes, (48, 64)).astype(np.uint8)
    trusted = rng.random((48, 64)) < 0.8
    torch_out = TorchRefiner(out / "refiner.pt").refine(channels, trusted, segmentation, image)
    onnx_out = OnnxRefiner(out / "refiner.onnx").refine(channels, trusted, segmentation, image)
    np.testing.assert_allclose(onnx_out, torch_out, atol=1e-4)
    np.testing.assert_allclose(onnx_out.sum(axis=-1), 1.0, atol=1e-5)


def test_several_motions_and_taus_are_trained_on_and_recorded(
    tmp_path: Path, drives, random_engines, spec: LabelSpec
) -> None:
    out = tmp_path / "run"
    extra = ["--epochs", "1", "--max-length", "1", "--motion", "dis", "dis:fast", "--tau", "20", "40"]
    assert train_refiner.main(refiner_args(drives, random_engines, out, *extra)) == 0
    motions, taus = ["dis:medium", "dis:fast"], [20.0, 40.0]
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["cycles"]["motion"], metrics["cycles"]["tau"]) == (motions, taus)
    assert metrics["keyframes"] == 6 and len(metrics["history"]) == 1
    checkpoint = load_checkpoint(out / "refiner.pt")
    assert (checkpoint.metadata["motion"], checkpoint.metadata["tau"]) == (motions, taus)
    settings = CycleSettings(
        str(random_engines["segmentation.onnx"]), motions=tuple(motions), taus=tuple(taus)
    )
    for path in (out / "cache").rglob("entry.json"):  # each keyframe's cycles ran with its own pair
        data = json.loads(path.read_text())
        assert (data["motion"], data["tau"]) == settings.variant(data["stamp_ns"])
    folders = {path.parent.parent.parent.name for path in (out / "cache").rglob("entry.json")}
    assert len(folders) == 2 and all(folder.endswith(settings.key()) for folder in folders)  # a bag each


def test_init_from_a_refiner_of_another_class_spec(
    tmp_path: Path, drives, random_engines, spec: LabelSpec
) -> None:
    """Omega is class-agnostic: a refiner trained for five classes starts one for the 19 of the drives."""
    five = LabelSpec(tuple(LabelClass(i, f"class{i}", (i, i, i)) for i in range(5)))
    start = random_network("refiner", RefinerConfig(widths=(8, 16, 24, 32)), seed=7)
    init = save_checkpoint(tmp_path / "five.pt", start, spec=five)
    out = tmp_path / "run"
    extra = ["--epochs", "1", "--max-length", "1", "--init", str(init)]
    assert train_refiner.main(refiner_args(drives, random_engines, out, *extra)) == 0
    trained = load_checkpoint(out / "refiner.pt")
    assert trained.spec == spec and trained.metadata["init"] == str(init)
    # Three steps of AdamW at lr 2e-3 move each weight by about 6e-3: the run started from ``start``.
    for name, value in start.named_parameters():
        assert (trained.state_dict[name] - value.detach()).abs().max() < 0.05, name
    assert start.head.weight.abs().max() > 0.5  # and ``start`` is far from a fresh Omega (zero head)


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
