"""OnnxMotion against its I/O contract, with tiny generated ONNX models of the real tensor shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from warp_refine_ros.engines.base import MotionEngine
from warp_refine_ros.engines.loading import load_motion
from warp_refine_ros.engines.onnx_backend import OnnxMotion
from warp_refine_ros.errors import EngineError
from warp_refine_ros.modelspec import ModelMetadata, Normalization


def channel_mean_model(
    path: Path,
    *,
    size: tuple[int, int] | None = None,
    names: tuple[str, str, str] = ("image", "reference", "flow"),
    props: dict[str, str] | None = None,
) -> Path:
    """flow = (mean_c image, mean_c reference): shows which input went where, and in what units."""
    height, width = size or ("height", "width")
    image, reference, flow = names
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", [image], ["dx"], axes=[1], keepdims=1),
            helper.make_node("ReduceMean", [reference], ["dy"], axes=[1], keepdims=1),
            helper.make_node("Concat", ["dx", "dy"], [flow], axis=1),
        ],
        "channel_mean_flow",
        [
            helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, height, width])
            for n in (image, reference)
        ],
        [helper.make_tensor_value_info(flow, TensorProto.FLOAT, [1, 2, height, width])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    for key, value in (props or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def frames(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return tuple(rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(2))


def test_dynamic_model_gets_raw_pixels_padded_and_cropped(tmp_path: Path) -> None:
    engine = load_motion(str(channel_mean_model(tmp_path / "flow.onnx")))
    assert isinstance(engine, OnnxMotion) and isinstance(engine, MotionEngine)
    assert engine.input_size is None and engine.pad_multiple == 8
    image, reference = frames(37, 50)  # not multiples of 8
    flow = engine.flow(image, reference)
    assert flow.shape == (37, 50, 2) and flow.dtype == np.float32
    np.testing.assert_allclose(flow[..., 0], image.mean(axis=2), rtol=1e-5)
    np.testing.assert_allclose(flow[..., 1], reference.mean(axis=2), rtol=1e-5)


def test_fixed_size_model_gets_resized_frames_and_flow_scaled_back(tmp_path: Path) -> None:
    engine = OnnxMotion(channel_mean_model(tmp_path / "fixed.onnx", size=(24, 40)))
    assert engine.input_size == (24, 40)
    image = np.full((48, 120, 3), 10, dtype=np.uint8)
    reference = np.full((48, 120, 3), 30, dtype=np.uint8)
    flow = engine.flow(image, reference)
    assert flow.shape == (48, 120, 2)
    np.testing.assert_allclose(flow[..., 0], 10 * 120 / 40)  # x displacements scale with the width
    np.testing.assert_allclose(flow[..., 1], 30 * 48 / 24)  # y displacements with the height


def test_metadata_sets_normalisation_and_padding(tmp_path: Path) -> None:
    metadata = ModelMetadata(
        arch="motion", normalization=Normalization((0.5,) * 3, (0.5,) * 3), config={"pad_multiple": 16}
    )
    engine = OnnxMotion(channel_mean_model(tmp_path / "raft.onnx", props=metadata.to_props()))
    assert engine.pad_multiple == 16
    image = np.full((20, 30, 3), 255, dtype=np.uint8)
    reference = np.zeros((20, 30, 3), dtype=np.uint8)
    flow = engine.flow(image, reference)
    np.testing.assert_allclose(flow[..., 0], 1.0)
    np.testing.assert_allclose(flow[..., 1], -1.0)


def test_a_network_of_another_kind_is_refused(tmp_path: Path, spec) -> None:
    props = ModelMetadata(arch="segmentation", normalization=Normalization((0,) * 3, (1,) * 3), spec=spec)
    path = channel_mean_model(tmp_path / "seg.onnx", props=props.to_props())
    with pytest.raises(EngineError, match="is a segmentation network, but a motion network is needed"):
        OnnxMotion(path)


def test_wrong_tensor_names(tmp_path: Path) -> None:
    path = channel_mean_model(tmp_path / "raft.onnx", names=("image1", "image2", "flow"))
    with pytest.raises(
        EngineError, match=r"needs inputs \['image', 'reference'\].*has inputs \['image1', 'image2'\]"
    ):
        OnnxMotion(path)


def test_frames_of_different_sizes(tmp_path: Path) -> None:
    engine = OnnxMotion(channel_mean_model(tmp_path / "flow.onnx"))
    image, _ = frames(32, 32)
    with pytest.raises(EngineError, match="differ in size"):
        engine.flow(image, image[:16])
