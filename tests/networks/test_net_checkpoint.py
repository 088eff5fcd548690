"""Checkpoints: round trip, weights_only loading, resume state, and clear errors for other files."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.modelspec import Normalization
from warp_refine_ros.networks.checkpoint import (
    FORMAT,
    TrainingState,
    build_model,
    load_checkpoint,
    save_checkpoint,
)
from warp_refine_ros.networks.random_init import random_network, refiner_inputs
from warp_refine_ros.networks.refiner import RefinerConfig
from warp_refine_ros.networks.segmentation import SegmentationConfig
from warp_refine_ros.training.losses import cycle_loss


def test_round_trip_rebuilds_the_same_network(tmp_path: Path, spec: LabelSpec) -> None:
    config = SegmentationConfig(width=0.75, feature_channels=48, input_scale=0.25)
    net = random_network("segmentation", config, seed=5)
    norm = Normalization((0.5, 0.4, 0.3), (0.2, 0.25, 0.3))
    path = save_checkpoint(tmp_path / "g.pt", net, spec=spec, normalization=norm, metadata={"drives": 3})

    loaded = load_checkpoint(path, arch="segmentation")
    assert loaded.config == config
    assert loaded.spec == spec
    assert loaded.normalization == norm
    assert loaded.metadata["drives"] == 3 and loaded.metadata["torch"] == str(torch.__version__)
    assert loaded.training is None
    image = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        for a, b in zip(net(image), loaded.model()(image), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_file_is_plain_data_for_weights_only_loading(tmp_path: Path, spec: LabelSpec) -> None:
    path = save_checkpoint(
        tmp_path / "r.pt", build_model("refiner", RefinerConfig(widths=(8, 16))), spec=spec
    )
    data = torch.load(path, weights_only=True)
    assert data["format"] == FORMAT and data["version"] == 1 and data["arch"] == "refiner"
    assert data["config"]["widths"] == (8, 16) and data["config"]["version"] == 2
    assert data["spec"] == spec.to_dict()
    assert set(data["normalization"]) == {"mean", "std"}
    assert not (tmp_path / "r.pt.partial").exists()


def test_resume_continues_training_exactly(tmp_path: Path, spec: LabelSpec) -> None:
    """Two steps, save, load, one step == three uninterrupted steps."""
    config = RefinerConfig(widths=(8, 16))
    generator = torch.Generator().manual_seed(0)
    inputs = refiner_inputs(torch.randn(2, 3, 32, 32, generator=generator), generator, classes=19)
    target = torch.randint(19, (2, 32, 32), generator=generator)

    def make(net: torch.nn.Module) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-2)
        return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)

    def step(net: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler) -> None:
        loss, _ = cycle_loss(net(*inputs), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()

    straight = build_model("refiner", config)
    resumed = copy.deepcopy(straight)
    optimizer, scheduler = make(straight)
    for _ in range(3):
        step(straight, optimizer, scheduler)

    optimizer, scheduler = make(resumed)
    for _ in range(2):
        step(resumed, optimizer, scheduler)
    state = TrainingState(2, optimizer.state_dict(), scheduler.state_dict(), {"loss": 0.5}, {"step": 20})
    path = save_checkpoint(tmp_path / "resume.pt", resumed, spec=spec, training=state)

    loaded = load_checkpoint(path)
    assert loaded.training is not None
    assert (loaded.training.epoch, loaded.training.metrics, loaded.training.extra) == (
        2,
        {"loss": 0.5},
        {"step": 20},
    )
    net = loaded.model().train()
    optimizer, scheduler = make(net)
    optimizer.load_state_dict(loaded.training.optimizer)
    scheduler.load_state_dict(loaded.training.scheduler)
    step(net, optimizer, scheduler)
    for (name, a), b in zip(straight.state_dict().items(), net.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


def test_not_a_torch_file(tmp_path: Path) -> None:
    path = tmp_path / "text.pt"
    path.write_text("hello")
    with pytest.raises(EngineError, match=r"text.pt is not a warp_refine_ros checkpoint"):
        load_checkpoint(path)


def test_a_bare_state_dict_is_not_our_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "bare.pt"
    torch.save(build_model("segmentation").state_dict(), path)
    with pytest.raises(EngineError, match=r"no 'format'"):
        load_checkpoint(path)


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "pickled.pt"
    torch.save({"format": FORMAT, "model": build_model("refiner", RefinerConfig(widths=(8,)))}, path)
    with pytest.raises(
        EngineError, match=r"pickled.pt is not a warp_refine_ros checkpoint .*WeightsUnpickler"
    ):
        load_checkpoint(path)


def test_wrong_architecture(tmp_path: Path, spec: LabelSpec) -> None:
    path = save_checkpoint(tmp_path / "g.pt", build_model("segmentation"), spec=spec)
    with pytest.raises(EngineError, match=r"is a segmentation checkpoint, but a refiner network is needed"):
        load_checkpoint(path, arch="refiner")


def test_newer_version_and_unknown_config_keys(tmp_path: Path, spec: LabelSpec) -> None:
    path = save_checkpoint(tmp_path / "g.pt", build_model("segmentation"), spec=spec)
    data = torch.load(path, weights_only=True)
    torch.save({**data, "version": 2}, tmp_path / "v2.pt")
    with pytest.raises(EngineError, match=r"version 2 is not supported"):
        load_checkpoint(tmp_path / "v2.pt")
    torch.save({**data, "config": {**data["config"], "depth": 3}}, tmp_path / "extra.pt")
    with pytest.raises(EngineError, match=r"unknown keys \['depth'\]"):
        load_checkpoint(tmp_path / "extra.pt")


def test_weights_that_do_not_fit(tmp_path: Path, spec: LabelSpec) -> None:
    path = save_checkpoint(tmp_path / "g.pt", build_model("segmentation"), spec=spec)
    data = torch.load(path, weights_only=True)
    torch.save({**data, "config": {**data["config"], "feature_channels": 32}}, tmp_path / "bad.pt")
    with pytest.raises(EngineError, match=r"weights do not fit the segmentation architecture"):
        load_checkpoint(tmp_path / "bad.pt").model()


def test_class_count_must_match_the_spec(tmp_path: Path, spec: LabelSpec) -> None:
    with pytest.raises(EngineError, match=r"predicts 5 classes but the spec has 19"):
        save_checkpoint(tmp_path / "g.pt", build_model("segmentation", {"num_classes": 5}), spec=spec)


def test_metadata_must_be_plain_data(tmp_path: Path, spec: LabelSpec) -> None:
    with pytest.raises(TypeError, match=r"JSON-like"):
        save_checkpoint(tmp_path / "g.pt", build_model("segmentation"), spec=spec, metadata={"p": tmp_path})


def test_unknown_architecture() -> None:
    with pytest.raises(EngineError, match=r"unknown network architecture 'unet'"):
        build_model("unet")


def test_a_refiner_of_the_earlier_release_is_refused_naming_retraining(
    tmp_path: Path, spec: LabelSpec
) -> None:
    """Version 1 refiners took g's features and one class spec; they cannot run as Omega now."""
    path = save_checkpoint(tmp_path / "r.pt", build_model("refiner", RefinerConfig(widths=(8,))), spec=spec)
    data = torch.load(path, weights_only=True)
    legacy = {"num_classes": 19, "feature_channels": 64, "widths": (24, 32, 64, 128), "label_scale": 4.0}
    torch.save({**data, "config": legacy}, tmp_path / "old.pt")
    with pytest.raises(
        EngineError, match=r"old\.pt: .*earlier release.*retrain it with adapt_labeler or train_refiner"
    ):
        load_checkpoint(tmp_path / "old.pt")
