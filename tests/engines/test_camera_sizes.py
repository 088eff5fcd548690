"""The network engines at any camera size: ONNX Runtime gives PyTorch's answer, at the image's size.

Sizes chosen so that g's 1/4 and 1/8 grids and the refiner's strides do not divide them: the
issue's 480x360 and 482x242, 1920x1080, portrait 360x640, and images down to the smallest DIS
accepts (8 pixels one way, 12 the other), where warp-refine must still label every frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from warp_refine_ros.engines.dis import DisMotion
from warp_refine_ros.engines.onnx_backend import OnnxRefiner, OnnxSegmentation
from warp_refine_ros.engines.torch_backend import TorchRefiner, TorchSegmentation
from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import Frame, Method, Propagator, StreamLabeler
from warp_refine_ros.synth import DriveConfig, render_drive

SIZES = [  # (H, W)
    (360, 480),
    (242, 482),
    pytest.param((1080, 1920), marks=pytest.mark.slow),  # 7 s on two cores
    (640, 360),
    (14, 20),
    (8, 12),
    (12, 8),
]


@pytest.fixture(scope="module")
def engines(network_files) -> dict[str, object]:
    return {
        "torch": (
            TorchSegmentation(network_files["segmentation.pt"]),
            TorchRefiner(network_files["refiner.pt"]),
        ),
        "onnx": (
            OnnxSegmentation(network_files["segmentation.onnx"]),
            OnnxRefiner(network_files["refiner.onnx"]),
        ),
    }


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[1]}x{s[0]}")
def test_onnx_engines_match_pytorch_at_the_camera_size(engines, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(size))
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    channels = rng.integers(0, 19, size).astype(np.uint8)
    trusted = rng.random(size) < 0.8
    results = {}
    for backend, (segmentation, refiner) in engines.items():
        found = segmentation.segment(image)
        results[backend] = (found, refiner.refine(channels, trusted, found, image))
    (torch_seg, torch_refined), (onnx_seg, onnx_refined) = results["torch"], results["onnx"]
    assert onnx_seg.probabilities.shape == onnx_refined.shape == (*size, 19)
    np.testing.assert_allclose(onnx_seg.probabilities, torch_seg.probabilities, atol=1e-4)
    np.testing.assert_allclose(onnx_refined, torch_refined, atol=1e-4)
    np.testing.assert_allclose(onnx_refined.sum(axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("size", [(8, 12), (12, 8), (14, 20)], ids=lambda s: f"{s[1]}x{s[0]}")
def test_warp_refine_labels_the_smallest_images(engines, spec: LabelSpec, size: tuple[int, int]) -> None:
    segmentation, refiner = engines["onnx"]
    propagator = Propagator(
        Method.WARP_REFINE, spec, motion=DisMotion(), segmentation=segmentation, refiner=refiner
    )
    labeler = StreamLabeler(propagator, 4)  # keyframes 0 and 8 reach every frame
    frames = render_drive(DriveConfig(width=24, height=16, frames=9, seed=2)).frames
    cut = np.s_[: size[0], : size[1]]
    labeled = []
    for frame in frames:
        key = frame.labels[cut] if frame.index in (0, 8) else None
        labeled += labeler.push(Frame(np.ascontiguousarray(frame.image[cut]), frame.stamp_ns), key)
    labeled += labeler.finish()
    assert sorted(item.frame.stamp_ns for item in labeled) == [frame.stamp_ns for frame in frames]
    assert {item.labeling.labels.shape for item in labeled} == {size}
    first = next(item for item in labeled if item.frame.stamp_ns == frames[0].stamp_ns)
    np.testing.assert_array_equal(first.labeling.labels, frames[0].labels[cut])


def test_a_refiner_built_for_one_size_of_g_is_refused(network_files, tmp_path: Path) -> None:
    """g's probability grid changes with the camera size, so a refiner must accept any."""
    model = onnx.load(str(network_files["refiner.onnx"]))
    segmentation = next(tensor for tensor in model.graph.input if tensor.name == "segmentation")
    for axis, size in ((2, 30), (3, 40)):
        segmentation.type.tensor_type.shape.dim[axis].dim_value = size
    onnx.save(model, str(tmp_path / "fixed.onnx"))
    with pytest.raises(EngineError, match=r"input 'segmentation' has the fixed shape \[.*, 30, 40\]"):
        OnnxRefiner(tmp_path / "fixed.onnx")
