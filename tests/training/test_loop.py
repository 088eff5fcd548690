"""The shared training loop: a few steps lower the loss on a fixed batch, for both networks."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from warp_refine_ros.engines.dis import DEFAULT_PRESET
from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.refiner import RefinerConfig, RefinerNet
from warp_refine_ros.networks.segmentation import SegmentationConfig, SegmentationNet
from warp_refine_ros.synth import DriveFiles
from warp_refine_ros.training.augment import Augmentation
from warp_refine_ros.training.cycle_cache import CycleSettings, build_cycle_cache
from warp_refine_ros.training.cycle_data import CycleDataset
from warp_refine_ros.training.data import SegmentationDataset
from warp_refine_ros.training.distributed import Distributed
from warp_refine_ros.training.loop import Hyper, Trainer, lr_factor
from warp_refine_ros.training.losses import SegmentationLoss, cycle_loss, present_classes
from warp_refine_ros.training.sources import KeyframeSource, extract_keyframes, match_source

from .conftest import TOPIC


def training_run(out: Path, spec: LabelSpec, hyper: Hyper, arguments: dict | None = None) -> SimpleNamespace:
    """What the Trainer reads of a trainer's run."""
    return SimpleNamespace(out=out, spec=spec, hyper=hyper, arguments=arguments or {})


def fit(model: torch.nn.Module, batch: tuple, step, tmp_path: Path, spec: LabelSpec) -> tuple[float, float]:
    """(loss before, loss after) eight steps on the same batch."""
    trainer = Trainer(
        model,
        training_run(tmp_path, spec, Hyper(epochs=1, lr=1e-2, warmup=0.0, progress=False, tensorboard=False)),
        name=model.arch,
        dist=Distributed(),
        steps_per_epoch=8,
    )
    with torch.no_grad():
        before = float(step(model.train(), batch)[0])
    trainer.train_epoch([batch] * 8, 0, step, 8)
    with torch.no_grad():
        after = float(step(model.train(), batch)[0])
    return before, after


def test_segmentation_steps_lower_the_loss(tmp_path: Path, drives: list[DriveFiles], spec: LabelSpec) -> None:
    items = extract_keyframes(
        match_source(KeyframeSource(drives[0].bag, TOPIC, drives[0].keyframes), spec), tmp_path, spec
    )
    dataset = SegmentationDataset(items, spec, augmentation=Augmentation(crop=(24, 32)))
    batch = tuple(torch.stack(parts) for parts in zip(*(dataset[i] for i in range(3)), strict=True))
    model = SegmentationNet(SegmentationConfig(width=0.5, feature_channels=16))
    criterion = SegmentationLoss("ce")
    before, after = fit(model, batch, lambda net, b: criterion(net(b[0])[0], b[1]), tmp_path, spec)
    assert after < before


def test_refiner_steps_lower_the_cycle_loss(
    tmp_path: Path, drives: list[DriveFiles], random_engines: dict[str, Path], spec: LabelSpec
) -> None:
    stream = match_source(KeyframeSource(drives[0].bag, TOPIC, drives[0].keyframes), spec)
    settings = CycleSettings(str(random_engines["segmentation.onnx"]), max_length=2)
    entries = build_cycle_cache(
        [stream], settings, tmp_path / "cache", spec, dist=Distributed(), progress=False
    )
    dataset = CycleDataset(entries, spec, lengths=(1, 2), crop=None)
    batch = tuple(torch.stack(parts) for parts in zip(*(dataset[i] for i in range(3)), strict=True))
    model = RefinerNet(RefinerConfig(widths=(8, 16, 24, 32)))

    def step(net: torch.nn.Module, items: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        labels, trust, segmentation, image, target = present_classes(items)  # as train_refiner steps
        return cycle_loss(net(labels, trust, segmentation, image), target)

    before, after = fit(model, batch, step, tmp_path, spec)
    assert after < before


def test_learning_rate_warms_up_then_decays_to_zero() -> None:
    factors = [lr_factor(step, total=100, warmup=10) for step in range(101)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == 1.0
    assert all(a >= b for a, b in pairwise(factors[9:])) and factors[100] == 0.0


def test_resume_refuses_settings_it_would_ignore(tmp_path: Path, spec: LabelSpec) -> None:
    def trainer(arguments: dict) -> Trainer:
        return Trainer(
            SegmentationNet(SegmentationConfig(width=0.5, feature_channels=16)),
            training_run(
                tmp_path,
                spec,
                Hyper(epochs=2, lr=arguments["lr"], progress=False, tensorboard=False),
                arguments,
            ),
            name="seg",
            dist=Distributed(),
            steps_per_epoch=1,
        )

    started = {"lr": 2e-3, "epochs": 2, "no_progress": False, "command": "train_seg ..."}
    trainer(started).end_epoch(0, {"train": {"loss": 1.0, "seconds": 0.0}})
    assert trainer({**started, "no_progress": True, "command": "train_seg --resume"}).resume() == 1
    with pytest.raises(EngineError, match=r"these differ: lr 0.002 -> 0.5\. Drop them"):
        trainer({**started, "lr": 0.5}).resume()


def test_cycle_cache_key_follows_the_motion_dis_names(tmp_path: Path) -> None:
    """'dis' is the default preset: cycles made when the default was another preset are not reused."""
    engine = tmp_path / "seg.onnx"
    engine.write_bytes(b"weights")
    other = next(preset for preset in ("fast", "medium") if preset != DEFAULT_PRESET)
    names = ("dis", f"dis:{DEFAULT_PRESET}", f"dis:{other}")
    key = {m: CycleSettings(str(engine), motions=(m,)).key() for m in names}
    assert key["dis"] == key[f"dis:{DEFAULT_PRESET}"] != key[f"dis:{other}"]
    both = CycleSettings(str(engine), motions=("dis", f"dis:{other}"))
    assert both.motions == (f"dis:{DEFAULT_PRESET}", f"dis:{other}")
    assert both.key() not in key.values()
    taus = {t: CycleSettings(str(engine), taus=t).key() for t in ((40,), (20, 40), (40.0,))}
    assert taus[(40,)] == taus[(40.0,)] != taus[(20, 40)]


def test_each_keyframe_cycles_with_one_of_the_motions_and_taus(tmp_path: Path) -> None:
    settings = CycleSettings(str(tmp_path / "seg.onnx"), motions=("dis", "dis:fast"), taus=(20, 40))
    pairs = {(m, t) for m in (f"dis:{DEFAULT_PRESET}", "dis:fast") for t in (20.0, 40.0)}
    stamp = 1_700_000_000_123_456_789
    assert settings.variant(stamp) in pairs and settings.variant(stamp) == settings.variant(stamp)
    assert CycleSettings(str(tmp_path / "seg.onnx")).variant(stamp) == (f"dis:{DEFAULT_PRESET}", 40.0)
    with pytest.raises(ValueError, match="at least one motion and one tau"):
        CycleSettings(str(tmp_path / "seg.onnx"), taus=())


@pytest.mark.parametrize("period_ns", [500_000_000, 1_000_000_000, 333_333_333], ids=["2Hz", "1Hz", "3Hz"])
def test_keyframes_of_a_periodic_camera_spread_over_every_motion_and_tau(
    tmp_path: Path, period_ns: int
) -> None:
    """Keyframes every few frames of a camera with exact stamps (a simulator, a 10 Hz driver): each
    (motion, tau) pair must get some, or Omega learns for one setting only."""
    settings = CycleSettings(str(tmp_path / "seg.onnx"), motions=("dis", "dis:fast"), taus=(20, 40))
    stamps = [1_700_000_000_000_000_000 + k * period_ns for k in range(40)]
    counts = Counter(settings.variant(stamp) for stamp in stamps)
    assert len(counts) == 4, counts


def test_a_log_gets_two_lines_of_an_epochs_bar(tmp_path: Path, spec: LabelSpec, capsys) -> None:
    model = torch.nn.Linear(2, 1)
    trainer = Trainer(
        model,
        training_run(tmp_path, spec, Hyper(epochs=1, lr=1e-2, tensorboard=False)),
        name="tiny",
        dist=Distributed(),
        steps_per_epoch=200,
    )

    def step(net: torch.nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        loss = net(batch).square().mean()
        return loss, {"loss": float(loss.detach())}

    trainer.train_epoch([torch.ones(4, 2)] * 200, 0, step, 200)
    err = capsys.readouterr().err  # stderr is not a terminal here, as in a log file or a CI job
    assert "\r" not in err and len(err.splitlines()) == 2 and "200/200" in err.splitlines()[-1]
