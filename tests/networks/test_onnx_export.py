"""ONNX export: a checked opset-17 graph with dynamic axes, our metadata, and parity with PyTorch."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.modelspec import IMAGENET, ModelMetadata, Normalization, read_onnx_metadata
from warp_refine_ros.networks.checkpoint import load_checkpoint, save_checkpoint
from warp_refine_ros.networks.export import OPSET, export_onnx
from warp_refine_ros.networks.inference import inference_module
from warp_refine_ros.networks.random_init import random_network
from warp_refine_ros.networks.refiner import RefinerConfig
from warp_refine_ros.networks.segmentation import SegmentationConfig

TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}  # float32, different conv kernels


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def one_hot(rng: np.random.Generator, classes: int, height: int, width: int) -> np.ndarray:
    return np.eye(classes, dtype=np.float32)[rng.integers(classes, size=(height, width))].transpose(2, 0, 1)[
        None
    ]


@pytest.fixture(scope="module")
def segmentation_onnx(
    tmp_path_factory: pytest.TempPathFactory, spec: LabelSpec
) -> tuple[torch.nn.Module, Path]:
    net = random_network("segmentation", SegmentationConfig(), seed=11)
    directory = tmp_path_factory.mktemp("export")
    checkpoint = save_checkpoint(directory / "seg.pt", net, spec=spec)
    return net, export_onnx(checkpoint, directory / "seg.onnx")


@pytest.mark.parametrize(("batch", "height", "width"), [(1, 120, 160), (2, 97, 131)])
def test_segmentation_parity(segmentation_onnx, batch: int, height: int, width: int) -> None:
    net, path = segmentation_onnx
    image = np.random.default_rng(0).standard_normal((batch, 3, height, width)).astype(np.float32)
    probabilities, features = session(path).run(None, {"image": image})
    with torch.no_grad():
        expected = inference_module(net)(torch.from_numpy(image))
    np.testing.assert_allclose(probabilities, expected[0].numpy(), **TOLERANCE)
    np.testing.assert_allclose(features, expected[1].numpy(), **TOLERANCE)
    assert probabilities.shape == (batch, 19, -(-height // 4), -(-width // 4))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_refiner_parity_at_two_sizes_and_class_counts(tmp_path: Path, spec: LabelSpec) -> None:
    """One exported Omega runs any number of classes (the class axis is dynamic), as in PyTorch."""
    net = random_network("refiner", RefinerConfig(), seed=12)
    path = export_onnx(net, tmp_path / "refiner.onnx", spec=spec)
    rng = np.random.default_rng(1)
    for height, width, classes in [(96, 128, 19), (61, 83, 3)]:
        logits = rng.standard_normal((1, classes, -(-height // 4), -(-width // 4))).astype(np.float32)
        feeds = {
            "labels": one_hot(rng, classes, height, width),
            "trust": (rng.random((1, 1, height, width)) < 0.8).astype(np.float32),
            "segmentation": np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True),
            "image": rng.standard_normal((1, 3, height, width)).astype(np.float32),
        }
        (probabilities,) = session(path).run(None, feeds)
        with torch.no_grad():
            expected = inference_module(net)(*(torch.from_numpy(value) for value in feeds.values()))
        np.testing.assert_allclose(probabilities, expected.numpy(), **TOLERANCE)
        assert probabilities.shape == (1, classes, height, width)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_refiner_graph_has_a_dynamic_class_axis(tmp_path: Path, spec: LabelSpec) -> None:
    path = export_onnx(random_network("refiner", seed=13), tmp_path / "refiner.onnx", spec=spec)
    model = onnx.load(str(path))
    shapes = {
        value.name: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        for value in [*model.graph.input, *model.graph.output]
    }
    assert shapes == {
        "labels": ["batch", "classes", "height", "width"],
        "trust": ["batch", 1, "height", "width"],
        "segmentation": ["batch", "classes", "grid_height", "grid_width"],
        "image": ["batch", 3, "height", "width"],
        "probabilities": ["batch", "classes", "height", "width"],
    }
    assert "Softmax" not in {node.op_type for node in model.graph.node}  # see ChannelSoftmax
    metadata = read_onnx_metadata(path)
    assert metadata.inputs == ("labels", "trust", "segmentation", "image")
    assert metadata.config == json.loads(json.dumps(asdict(RefinerConfig())))


def test_a_refiner_onnx_of_the_earlier_release_is_refused_naming_retraining(
    tmp_path: Path, spec: LabelSpec
) -> None:
    path = export_onnx(random_network("refiner", seed=14), tmp_path / "refiner.onnx", spec=spec)
    model = onnx.load(str(path))
    legacy = {"num_classes": 19, "feature_channels": 64, "widths": [24, 32, 64, 128], "label_scale": 4.0}
    for prop in model.metadata_props:
        if prop.key == "warp_refine_ros.config":
            prop.value = json.dumps(legacy)
    onnx.save(model, str(tmp_path / "old.onnx"))
    with pytest.raises(
        EngineError, match=r"old\.onnx.*earlier release.*retrain it with adapt_labeler or train_refiner"
    ):
        read_onnx_metadata(tmp_path / "old.onnx")


def test_graph_is_opset_17_with_named_dynamic_axes(segmentation_onnx) -> None:
    _, path = segmentation_onnx
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert {o.domain: o.version for o in model.opset_import}[""] == OPSET
    shapes = {
        value.name: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        for value in [*model.graph.input, *model.graph.output]
    }
    assert shapes == {
        "image": ["batch", 3, "height", "width"],
        "probabilities": ["batch", 19, "quarter_height", "quarter_width"],
        "features": ["batch", 64, "eighth_height", "eighth_width"],
    }
    assert "Softmax" not in {node.op_type for node in model.graph.node}  # see ChannelSoftmax


def test_metadata_round_trip(tmp_path: Path, spec: LabelSpec) -> None:
    norm = Normalization((0.1, 0.2, 0.3), (0.4, 0.5, 0.6))
    config = SegmentationConfig(width=0.5, feature_channels=32, input_scale=0.25)
    checkpoint = save_checkpoint(
        tmp_path / "g.pt", random_network("segmentation", config), spec=spec, normalization=norm
    )
    metadata = read_onnx_metadata(export_onnx(load_checkpoint(checkpoint), tmp_path / "g.onnx"))
    assert metadata == ModelMetadata(
        arch="segmentation",
        normalization=norm,
        spec=spec,
        config={
            "num_classes": 19,
            "width": 0.5,
            "feature_channels": 32,
            "head_channels": 128,
            "input_scale": 0.25,
        },
        input_scale=0.25,
    )
    assert metadata.inputs == ("image",) and metadata.outputs == ("probabilities", "features")


def test_exporting_a_network_object_needs_its_spec(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"needs its class spec"):
        export_onnx(random_network("segmentation"), tmp_path / "g.onnx")


def test_export_leaves_the_callers_model_alone(tmp_path: Path, spec: LabelSpec) -> None:
    net = random_network("refiner").train()
    export_onnx(net, tmp_path / "r.onnx", spec=spec)
    assert net.training
    assert read_onnx_metadata(tmp_path / "r.onnx").normalization == IMAGENET


def test_reading_metadata_of_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"does not exist"):
        read_onnx_metadata(tmp_path / "none.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00junk")
    with pytest.raises(EngineError, match=r"not a readable ONNX model"):
        read_onnx_metadata(tmp_path / "junk.onnx")
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])],
        "plain",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    onnx.save(onnx.helper.make_model(graph), str(tmp_path / "plain.onnx"))
    with pytest.raises(EngineError, match=r"plain.onnx has no warp_refine_ros metadata"):
        read_onnx_metadata(tmp_path / "plain.onnx")


def test_metadata_version_and_malformed_values(spec: LabelSpec) -> None:
    config = asdict(RefinerConfig())
    props = ModelMetadata(arch="refiner", normalization=IMAGENET, spec=spec, config=config).to_props()
    with pytest.raises(EngineError, match=r"r.onnx: metadata version 2 is not supported"):
        ModelMetadata.from_props({**props, "warp_refine_ros.version": "2"}, source="r.onnx")
    with pytest.raises(EngineError, match=r"r.onnx: malformed warp_refine_ros metadata"):
        ModelMetadata.from_props({**props, "warp_refine_ros.spec": "{not json"}, source="r.onnx")
    with pytest.raises(EngineError, match=r"r.onnx: unknown network architecture 'unet'"):
        ModelMetadata.from_props({**props, "warp_refine_ros.arch": "unet"}, source="r.onnx")
