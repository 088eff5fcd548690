"""Starting g from a file: torchvision's ImageNet MobileNetV3-Small, our own checkpoints, and other files."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
from torch import nn

from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelClass, LabelSpec
from warp_refine_ros.networks.checkpoint import save_checkpoint
from warp_refine_ros.networks.pretrained import TORCHVISION_FILE, init_segmentation
from warp_refine_ros.networks.random_init import random_network
from warp_refine_ros.networks.refiner import RefinerConfig, RefinerNet
from warp_refine_ros.networks.segmentation import SegmentationConfig, SegmentationNet

# torchvision's _mobilenet_v3_conf rows (input, kernel, expanded, out, use_se, activation, stride,
# dilation); the last three dilate (dilation 2, depthwise stride 1) with dilated=True, as in LR-ASPP.
SMALL = [
    (16, 3, 16, 16, True, "RE", 2, 1),
    (16, 3, 72, 24, False, "RE", 2, 1),
    (24, 3, 88, 24, False, "RE", 1, 1),
    (24, 5, 96, 40, True, "HS", 2, 1),
    (40, 5, 240, 40, True, "HS", 1, 1),
    (40, 5, 240, 40, True, "HS", 1, 1),
    (40, 5, 120, 48, True, "HS", 1, 1),
    (48, 5, 144, 48, True, "HS", 1, 1),
    (48, 5, 288, 96, True, "HS", 2, 2),
    (96, 5, 576, 96, True, "HS", 1, 2),
    (96, 5, 576, 96, True, "HS", 1, 2),
]
LARGE = [
    (16, 3, 16, 16, False, "RE", 1, 1),
    (16, 3, 64, 24, False, "RE", 2, 1),
    (24, 3, 72, 24, False, "RE", 1, 1),
    (24, 5, 72, 40, True, "RE", 2, 1),
    (40, 5, 120, 40, True, "RE", 1, 1),
    (40, 5, 120, 40, True, "RE", 1, 1),
    (40, 3, 240, 80, False, "HS", 2, 1),
    (80, 3, 200, 80, False, "HS", 1, 1),
    (80, 3, 184, 80, False, "HS", 1, 1),
    (80, 3, 184, 80, False, "HS", 1, 1),
    (80, 3, 480, 112, True, "HS", 1, 1),
    (112, 3, 672, 112, True, "HS", 1, 1),
    (112, 5, 672, 160, True, "HS", 2, 1),
    (160, 5, 960, 160, True, "HS", 1, 1),
    (160, 5, 960, 160, True, "HS", 1, 1),
]
TV_NORM = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


def make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class TvConvNormAct(nn.Sequential):
    """torchvision's Conv2dNormActivation: conv (no bias), BatchNorm(eps 1e-3), activation."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
        dilation: int = 1,
        act: type[nn.Module] | None = nn.ReLU,
    ) -> None:
        layers = [
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2 * dilation, dilation, groups, bias=False),
            TV_NORM(cout),
        ]
        super().__init__(*layers, *([act()] if act else []))


class TvSqueezeExcitation(nn.Module):
    """torchvision's SqueezeExcitation with MobileNetV3's hardsigmoid gate."""

    def __init__(self, channels: int, squeezed: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(channels, squeezed, 1), nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(torch.relu(self.fc1(nn.functional.adaptive_avg_pool2d(x, 1))))
        return nn.functional.hardsigmoid(scale) * x


class TvInvertedResidual(nn.Module):
    """torchvision's MobileNetV3 InvertedResidual."""

    def __init__(
        self, cin: int, kernel: int, expanded: int, cout: int, se: bool, act: str, stride: int, dilation: int
    ) -> None:
        super().__init__()
        activation = nn.Hardswish if act == "HS" else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != cin:
            layers.append(TvConvNormAct(cin, expanded, 1, act=activation))
        depthwise_stride = 1 if dilation > 1 else stride
        layers.append(
            TvConvNormAct(expanded, expanded, kernel, depthwise_stride, expanded, dilation, activation)
        )
        if se:
            layers.append(TvSqueezeExcitation(expanded, make_divisible(expanded // 4, 8)))
        layers.append(TvConvNormAct(expanded, cout, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return y + x if self.residual else y


class TvMobileNetV3(nn.Module):
    """torchvision's MobileNetV3 module tree: ``features`` and the ImageNet ``classifier``."""

    def __init__(self, rows: list[tuple], last_channel: int) -> None:
        super().__init__()
        stem = TvConvNormAct(3, rows[0][0], 3, stride=2, act=nn.Hardswish)
        last = rows[-1][3]
        head = TvConvNormAct(last, 6 * last, 1, act=nn.Hardswish)
        self.features = nn.Sequential(stem, *(TvInvertedResidual(*row) for row in rows), head)
        self.classifier = nn.Sequential(
            nn.Linear(6 * last, last_channel), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(last_channel, 1000)
        )


def torchvision_small(seed: int = 0) -> TvMobileNetV3:
    """mobilenet_v3_small(dilated=True) with random weights and batch-norm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = TvMobileNetV3(SMALL, 1024)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.02, 0.1)  # keeps activations O(1) with small variances
                module.bias.normal_(0, 0.1)
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.0005, 0.01)  # small, where eps matters
    return model.eval()


def five_classes() -> LabelSpec:
    return LabelSpec(tuple(LabelClass(i, f"class{i}", (i, i, i)) for i in range(5)))


def encoder(net: SegmentationNet, image: torch.Tensor) -> list[torch.Tensor]:
    quarter = net.quarter(image)
    eighth = net.eighth(quarter)
    return [quarter, eighth, net.sixteenth(eighth)]


def test_torchvision_weights_reproduce_torchvision_features(tmp_path: Path, spec: LabelSpec) -> None:
    """Our encoder with the file loaded computes torchvision's features 1-11 (dilated), in eval mode."""
    torchvision = torchvision_small()
    path = tmp_path / TORCHVISION_FILE
    torch.save(torchvision.state_dict(), path)
    net = SegmentationNet(SegmentationConfig())
    init_segmentation(net, path, spec=spec)
    image = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        found = encoder(net.eval(), image)
        features = torchvision.features
        expected = [features[:2](image), features[:4](image), features[:12](image)]
    for stage, a, b in zip(("1/4", "1/8", "1/16"), found, expected, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4, msg=stage)


def test_every_torchvision_encoder_tensor_lands_in_its_place(tmp_path: Path, spec: LabelSpec) -> None:
    state = TvMobileNetV3(SMALL, 1024).state_dict()
    with torch.no_grad():
        for index, tensor in enumerate(state.values(), start=1):
            tensor.fill_(index)
    constants = {name: index for index, name in enumerate(state, start=1)}
    path = tmp_path / TORCHVISION_FILE
    torch.save(state, path)
    net = SegmentationNet(SegmentationConfig())
    before = {name: tensor.clone() for name, tensor in net.state_dict().items()}
    summary = init_segmentation(net, path, spec=spec)

    stages = [f"quarter.{i}." for i in range(2)] + [f"eighth.{i}." for i in range(2)]
    stages += [f"sixteenth.{i}." for i in range(8)]
    placed = {}
    for name, tensor in net.state_dict().items():
        stage = next((s for s in stages if name.startswith(s)), None)
        if stage is None:  # decoder and classifier: untouched
            torch.testing.assert_close(tensor, before[name], rtol=0, atol=0, msg=name)
            continue
        rest = (
            name[len(stage) :]
            .replace("body.", "block.")
            .replace("reduce.", "fc1.")
            .replace("expand.", "fc2.")
        )
        source = f"features.{stages.index(stage)}.{rest}"
        value = constants[source] + (0.001 - 1e-5 if name.endswith("running_var") else 0)
        torch.testing.assert_close(tensor, torch.full_like(tensor, value), msg=name)
        placed[source] = name
    assert set(placed) | {n for n in state if n.startswith(("features.12.", "classifier."))} == set(state)
    assert summary.kind == "torchvision" and set(summary.loaded) == set(placed.values())
    file_side, g_side = summary.skipped.values()
    assert set(file_side) == {n for n in state if n.startswith(("features.12.", "classifier."))}
    assert set(g_side) == set(before) - set(placed.values())
    assert "torchvision" in str(summary) and f"{len(placed)} tensors loaded" in str(summary)


def test_torchvision_files_without_step_counters_load(tmp_path: Path, spec: LabelSpec) -> None:
    state = {k: v for k, v in torchvision_small().state_dict().items() if "num_batches_tracked" not in k}
    torch.save(state, tmp_path / "old.pth")
    summary = init_segmentation(SegmentationNet(SegmentationConfig()), tmp_path / "old.pth", spec=spec)
    counters = next(names for reason, names in summary.skipped.items() if "step counters" in reason)
    assert len(counters) == 1 + 2 + 3 * 10  # stem; block 0 has no expansion; blocks 1-10


def test_torchvision_weights_need_width_one(tmp_path: Path, spec: LabelSpec) -> None:
    torch.save(torchvision_small().state_dict(), tmp_path / TORCHVISION_FILE)
    with pytest.raises(EngineError, match=r"width 1\.0, not 0\.5.*--width 1\.0"):
        init_segmentation(
            SegmentationNet(SegmentationConfig(width=0.5)), tmp_path / TORCHVISION_FILE, spec=spec
        )


def test_other_torchvision_backbones_are_rejected_by_name(tmp_path: Path, spec: LabelSpec) -> None:
    torch.save(TvMobileNetV3(LARGE, 1280).state_dict(), tmp_path / "mobilenet_v3_large-8738ca79.pth")
    with pytest.raises(EngineError, match=f"mobilenet_v3_large.*{TORCHVISION_FILE}"):
        init_segmentation(
            SegmentationNet(SegmentationConfig()), tmp_path / "mobilenet_v3_large-8738ca79.pth", spec=spec
        )
    state = torchvision_small().state_dict()
    state["features.4.block.1.0.weight"] = torch.zeros(96, 1, 3, 3)  # a 3x3 where g has a 5x5
    torch.save(state, tmp_path / "other.pth")
    with pytest.raises(EngineError, match=r"features\.4\.block\.1\.0\.weight is \(96, 1, 3, 3\).*5, 5"):
        init_segmentation(SegmentationNet(SegmentationConfig()), tmp_path / "other.pth", spec=spec)


def test_own_checkpoint_with_another_class_spec_skips_the_classifier(tmp_path: Path, spec: LabelSpec) -> None:
    config = SegmentationConfig(num_classes=5, width=0.5, feature_channels=16, input_scale=0.25)
    trained = random_network("segmentation", config, seed=3)
    path = save_checkpoint(tmp_path / "seg.pt", trained, spec=five_classes())
    net = SegmentationNet(SegmentationConfig(width=0.5, feature_channels=16))
    classifier = {name: t.clone() for name, t in net.state_dict().items() if name.startswith("classifier.")}
    summary = init_segmentation(net, path, spec=spec)

    for name, tensor in net.state_dict().items():
        source = classifier if name.startswith("classifier.") else trained.state_dict()
        torch.testing.assert_close(tensor, source[name], rtol=0, atol=0, msg=name)
    assert summary.kind == "checkpoint" and len(summary.loaded) == len(trained.state_dict()) - 2
    ((reason, names),) = summary.skipped.items()
    assert names == ("classifier.weight", "classifier.bias") and "5 classes" in reason
    assert any("scaled by 0.25, this one 0.5" in note for note in summary.notes)


def test_own_checkpoint_with_the_same_spec_gives_its_network(tmp_path: Path, spec: LabelSpec) -> None:
    trained = random_network("segmentation", SegmentationConfig(width=0.5), seed=4)
    path = save_checkpoint(tmp_path / "seg.pt", trained, spec=spec)
    net = SegmentationNet(SegmentationConfig(width=0.5))
    summary = init_segmentation(net, path, spec=spec)
    assert summary.skipped == {} and summary.notes == ()
    image = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        for a, b in zip(net.eval()(image), trained(image), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_same_class_count_but_other_classes_skips_the_classifier(tmp_path: Path, spec: LabelSpec) -> None:
    renamed = LabelSpec(tuple(LabelClass(c.id, f"{c.name}_x", c.color) for c in spec.classes))
    path = save_checkpoint(tmp_path / "seg.pt", SegmentationNet(SegmentationConfig(width=0.5)), spec=renamed)
    summary = init_segmentation(SegmentationNet(SegmentationConfig(width=0.5)), path, spec=spec)
    assert list(summary.skipped.values()) == [("classifier.weight", "classifier.bias")]


def test_own_checkpoint_of_other_shapes_names_the_fields(tmp_path: Path, spec: LabelSpec) -> None:
    path = save_checkpoint(
        tmp_path / "seg.pt", SegmentationNet(SegmentationConfig(width=0.5, feature_channels=32)), spec=spec
    )
    with pytest.raises(EngineError, match=r"feature_channels=32 but this one feature_channels=64.*--feature"):
        init_segmentation(SegmentationNet(SegmentationConfig(width=0.5)), path, spec=spec)


def test_other_files_name_the_accepted_kinds(tmp_path: Path, spec: LabelSpec) -> None:
    net = SegmentationNet(SegmentationConfig())
    text = tmp_path / "weights.yaml"
    text.write_text("classes: []\n")
    torch.save({"encoder.weight": torch.zeros(3)}, tmp_path / "resnet.pth")
    refiner = save_checkpoint(tmp_path / "refiner.pt", RefinerNet(RefinerConfig(widths=(8, 16))), spec=spec)
    cases = {
        text: "cannot be read as weights",
        tmp_path / "resnet.pth": "neither kind",
        tmp_path / "missing.pt": "does not exist",
    }
    for path, problem in cases.items():
        with pytest.raises(
            EngineError, match=f"{path.name}.*{problem}.*segmentation checkpoint.*{TORCHVISION_FILE}"
        ):
            init_segmentation(net, path, spec=spec)
    with pytest.raises(EngineError, match=r"refiner\.pt is a refiner checkpoint"):
        init_segmentation(net, refiner, spec=spec)
