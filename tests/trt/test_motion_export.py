"""Motion export: a RAFT-shaped network to checked opset-17 ONNX with dynamic size; ONNX Runtime parity."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from warp_refine_ros.engines.loading import load_motion
from warp_refine_ros.engines.onnx_backend import OnnxMotion
from warp_refine_ros.errors import EngineError
from warp_refine_ros.modelspec import read_onnx_metadata
from warp_refine_ros.networks.motion_export import (
    OPSET,
    RAFT_NORMALIZATION,
    FlowNetwork,
    export_motion_onnx,
    load_raft,
)

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None
needs_torchvision = pytest.mark.skipif(not HAS_TORCHVISION, reason="torchvision is not installed")


def frames(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    generator = torch.Generator().manual_seed(seed)
    return tuple((torch.rand(1, 3, height, width, generator=generator) * 2 - 1).numpy() for _ in range(2))


def onnx_flow(path: Path, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["flow"], {"image": image, "reference": reference})[0]


def test_graph_metadata_and_dynamic_axes(tiny_raft_onnx: Path) -> None:
    model = onnx.load(str(tiny_raft_onnx))
    onnx.checker.check_model(model, full_check=True)
    assert {o.domain: o.version for o in model.opset_import}[""] == OPSET
    assert "GridSample" in {node.op_type for node in model.graph.node}
    shapes = {
        value.name: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        for value in [*model.graph.input, *model.graph.output]
    }
    assert shapes == {
        "image": ["batch", 3, "height", "width"],
        "reference": ["batch", 3, "height", "width"],
        "flow": ["batch", 2, "height", "width"],
    }
    metadata = read_onnx_metadata(tiny_raft_onnx)
    assert metadata.arch == "motion" and metadata.normalization == RAFT_NORMALIZATION
    assert metadata.config == {"variant": "tiny", "iterations": 3, "pad_multiple": 8}


@pytest.mark.parametrize(("height", "width"), [(128, 160), (48, 200), (24, 40)])
def test_onnx_runtime_matches_torch_at_sizes_not_traced(tiny_raft, tiny_raft_onnx, height, width) -> None:
    image, reference = frames(height, width)
    with torch.no_grad():
        expected = FlowNetwork(tiny_raft, iterations=3)(torch.from_numpy(image), torch.from_numpy(reference))
    flow = onnx_flow(tiny_raft_onnx, image, reference)
    assert flow.shape == (1, 2, height, width)
    np.testing.assert_allclose(flow, expected.numpy(), rtol=1e-4, atol=1e-4)


def test_exported_network_is_a_motion_engine(tiny_raft_onnx: Path) -> None:
    engine = load_motion(str(tiny_raft_onnx))
    assert isinstance(engine, OnnxMotion)
    assert engine.input_size is None and engine.pad_multiple == 8
    rng = np.random.default_rng(1)
    image, reference = (rng.integers(0, 256, (61, 83, 3), dtype=np.uint8) for _ in range(2))
    flow = engine.flow(image, reference)  # padded to 64 x 88 for the network, cropped back
    assert flow.shape == (61, 83, 2) and flow.dtype == np.float32 and np.isfinite(flow).all()


def test_zero_flow_updates_are_refused(tiny_raft) -> None:
    with pytest.raises(EngineError, match="at least one flow update"):
        FlowNetwork(tiny_raft, iterations=0)


@pytest.mark.skipif(HAS_TORCHVISION, reason="torchvision is installed")
def test_raft_without_torchvision_says_what_to_install() -> None:
    with pytest.raises(EngineError, match=r"needs torchvision .*pip install torchvision"):
        load_raft("raft_small", random_weights=True)


@needs_torchvision
def test_unknown_variant_and_missing_weights(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="unknown RAFT variant 'raft_tiny'"):
        load_raft("raft_tiny")
    with pytest.raises(
        EngineError, match=r"raft_large weights .*none.pth not found.*Raft_Large_Weights.DEFAULT"
    ):
        load_raft("raft_large", tmp_path / "none.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a state dict")
    with pytest.raises(EngineError, match=r"junk\.pth is not a raft_small state dict"):
        load_raft("raft_small", tmp_path / "junk.pth")


@needs_torchvision
@pytest.mark.slow
def test_torchvision_raft_small_exports_with_parity(tmp_path: Path) -> None:
    raft = load_raft("raft_small", random_weights=True)
    weights = tmp_path / "raft_small.pth"
    torch.save(raft.state_dict(), weights)
    raft = load_raft("raft_small", weights)  # the weights-file path, with real (if random) weights
    path = export_motion_onnx(raft, tmp_path / "raft_small.onnx", variant="raft_small", iterations=4)
    image, reference = frames(136, 200)  # not the traced 128 x 160
    with torch.no_grad():
        expected = FlowNetwork(raft, iterations=4)(torch.from_numpy(image), torch.from_numpy(reference))
    np.testing.assert_allclose(onnx_flow(path, image, reference), expected.numpy(), rtol=1e-4, atol=1e-4)
