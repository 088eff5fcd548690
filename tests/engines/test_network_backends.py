"""PyTorch and ONNX Runtime engines for g and Omega: protocols, outputs, parity, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from warp_refine_ros.engines.base import RefinerEngine, Segmentation, SegmentationEngine
from warp_refine_ros.engines.loading import load_refiner, load_segmentation
from warp_refine_ros.engines.onnx_backend import OnnxRefiner, OnnxSegmentation, execution_providers
from warp_refine_ros.engines.torch_backend import TorchRefiner, TorchSegmentation
from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.checkpoint import save_checkpoint
from warp_refine_ros.networks.export import export_onnx
from warp_refine_ros.networks.refiner import RefinerConfig, RefinerNet

SIZES = [(96, 128), (75, 101)]


def image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("suffix", ["pt", "onnx"])
@pytest.mark.parametrize(("height", "width"), SIZES)
def test_segmentation_engine_outputs(
    network_files, spec: LabelSpec, suffix: str, height: int, width: int
) -> None:
    engine = load_segmentation(str(network_files[f"segmentation.{suffix}"]))
    assert isinstance(engine, TorchSegmentation if suffix == "pt" else OnnxSegmentation)
    assert isinstance(engine, SegmentationEngine)
    assert engine.spec == spec and engine.input_scale == 0.5
    result = engine.segment(image(height, width))
    assert result.probabilities.shape == (height, width, 19) and result.probabilities.dtype == np.float32
    np.testing.assert_allclose(result.probabilities.sum(axis=-1), 1.0, atol=1e-5)
    pixels = np.array([0, 7, width, height * width - 1])  # g upsampled at single pixels, on a 1/32 px grid
    np.testing.assert_allclose(result.at(pixels), result.probabilities.reshape(-1, 19)[pixels], atol=1 / 32)


def blocky(height: int, width: int, classes: list[int], block: int, seed: int) -> np.ndarray:
    """(H, W) uint8 ids drawn from ``classes``, constant on ``block`` x ``block`` squares."""
    rng = np.random.default_rng(seed)
    coarse = np.asarray(classes, np.uint8)[
        rng.integers(len(classes), size=(-(-height // block), -(-width // block)))
    ]
    return np.ascontiguousarray(coarse.repeat(block, 0).repeat(block, 1)[:height, :width])


def g_output(height: int, width: int, classes: list[int], seed: int, num_classes: int = 19) -> Segmentation:
    """g's output on its quarter grid, sure of blocky regions of ``classes``, a little of every class."""
    grid = blocky(-(-height // 4), -(-width // 4), classes, 3, seed)
    rng = np.random.default_rng(seed + 1)
    logits = 8.0 * np.eye(num_classes, dtype=np.float32)[grid] + rng.standard_normal(
        (*grid.shape, num_classes)
    )
    coarse = np.exp(logits - logits.max(axis=2, keepdims=True))
    return Segmentation((coarse / coarse.sum(axis=2, keepdims=True)).astype(np.float32), (height, width))


def interior(channels: np.ndarray, reach: int = 3) -> np.ndarray:
    """Pixels with one class within ``reach`` of them (the default Omega smooths over 3 pixels)."""
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    return cv2.dilate(channels, kernel) == cv2.erode(channels, kernel)


@pytest.fixture(scope="module")
def untrained_refiner(tmp_path_factory: pytest.TempPathFactory, spec: LabelSpec) -> dict[str, Path]:
    """Omega as built (zero head): warp-inpaint, slightly smoothed; as .pt and .onnx."""
    directory = tmp_path_factory.mktemp("untrained")
    checkpoint = save_checkpoint(directory / "refiner.pt", RefinerNet(RefinerConfig()), spec=spec)
    return {"pt": checkpoint, "onnx": export_onnx(checkpoint, directory / "refiner.onnx")}


@pytest.mark.parametrize("suffix", ["pt", "onnx"])
def test_refiner_engine_outputs(network_files, suffix: str) -> None:
    engine = load_refiner(str(network_files[f"refiner.{suffix}"]))
    assert isinstance(engine, TorchRefiner if suffix == "pt" else OnnxRefiner)
    assert isinstance(engine, RefinerEngine)
    channels = np.random.default_rng(2).integers(0, 19, (75, 101)).astype(np.uint8)
    trusted = np.random.default_rng(3).random((75, 101)) < 0.8
    refined = engine.refine(channels, trusted, g_output(75, 101, list(range(19)), seed=4), image(75, 101))
    assert refined.shape == (75, 101, 19) and refined.dtype == np.float32
    np.testing.assert_allclose(refined.sum(axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("suffix", ["pt", "onnx"])
def test_refiner_runs_on_the_present_classes_and_puts_them_back(untrained_refiner, suffix: str) -> None:
    """Labels of classes 2, 7 and 13, g sure of 7, 13 and 18: Omega refines those four and gives the
    other 15 no mass; trusted labels keep their classes, and g fills where motion left the image."""
    engine = load_refiner(str(untrained_refiner[suffix]))
    channels = blocky(97, 61, [2, 7, 13], 12, seed=5)
    channels[:, :12] = 255  # NO_CLASS: motion left the image
    segmentation = g_output(97, 61, [7, 13, 18], seed=6)
    refined = engine.refine(channels, np.ones((97, 61), bool), segmentation, image(97, 61, seed=7))
    np.testing.assert_allclose(refined.sum(axis=-1), 1.0, atol=1e-5)
    absent = np.setdiff1d(np.arange(19), [2, 7, 13, 18])
    assert not refined[..., absent].any()
    labeled = interior(channels) & (channels != 255)
    np.testing.assert_array_equal(refined.argmax(axis=-1)[labeled], channels[labeled])
    g_classes = segmentation.probabilities.argmax(axis=-1).astype(np.uint8)
    filled = interior(g_classes)
    filled[:, 12 - 3 :] = False  # away from the labels' edge too
    assert filled.sum() > 100
    np.testing.assert_array_equal(refined.argmax(axis=-1)[filled], g_classes[filled])


@pytest.mark.parametrize(("height", "width"), SIZES)
def test_torch_and_onnx_segmentation_engines_agree(network_files, height: int, width: int) -> None:
    frame = image(height, width, seed=4)
    torch_seg = TorchSegmentation(network_files["segmentation.pt"]).segment(frame)
    onnx_seg = OnnxSegmentation(network_files["segmentation.onnx"]).segment(frame)
    np.testing.assert_allclose(torch_seg.probabilities, onnx_seg.probabilities, atol=1e-4)


@pytest.mark.parametrize(("height", "width"), [*SIZES, (97, 61)])
@pytest.mark.parametrize("classes", [list(range(19)), [1, 8, 11]], ids=["all-classes", "three-classes"])
def test_torch_and_onnx_refiners_agree(network_files, height: int, width: int, classes: list[int]) -> None:
    """The same Omega through both engines, at odd sizes, on all classes and on a few (the subset path)."""
    frame = image(height, width, seed=8)
    channels = blocky(height, width, classes, 5, seed=9)
    channels[-6:] = 255
    trusted = np.random.default_rng(10).random((height, width)) < 0.7
    segmentation = g_output(height, width, classes, seed=11)
    torch_ref = TorchRefiner(network_files["refiner.pt"]).refine(channels, trusted, segmentation, frame)
    onnx_ref = OnnxRefiner(network_files["refiner.onnx"]).refine(channels, trusted, segmentation, frame)
    np.testing.assert_allclose(torch_ref, onnx_ref, atol=1e-4)
    assert np.count_nonzero(torch_ref.any(axis=(0, 1))) == len(classes)


@pytest.mark.parametrize("suffix", ["pt", "onnx"])
def test_refiner_input_errors(network_files, suffix: str) -> None:
    engine = load_refiner(str(network_files[f"refiner.{suffix}"]))
    frame = image(32, 48)
    channels = np.zeros((32, 48), np.uint8)
    trusted = np.ones((32, 48), bool)
    segmentation = g_output(32, 48, [0, 1], seed=0)
    with pytest.raises(EngineError, match=r"trust mask \(32, 47\) and g's output for \(32, 48\) must be of"):
        engine.refine(channels, trusted[:, :47], segmentation, frame)
    with pytest.raises(
        EngineError, match=r"g's output for \(16, 24\) must be of the image's size \(32, 48\)"
    ):
        engine.refine(channels, trusted, g_output(16, 24, [0, 1], seed=0), frame)
    with pytest.raises(EngineError, match=r"uint8 channel indices \(32, 48\), got uint8 \(32, 47\)"):
        engine.refine(channels[:, :47], trusted, segmentation, frame)
    with pytest.raises(EngineError, match=r"uint8 channel indices \(32, 48\), got float32 \(32, 48, 19\)"):
        engine.refine(np.zeros((32, 48, 19), np.float32), trusted, segmentation, frame)
    with pytest.raises(EngineError, match=r"uint8 RGB image"):
        engine.refine(channels, trusted, segmentation, frame.astype(np.float32))


@pytest.mark.parametrize("suffix", ["pt", "onnx"])
def test_wrong_architecture_is_refused(network_files, suffix: str) -> None:
    with pytest.raises(EngineError, match=r"is a refiner .*but a segmentation network is needed"):
        load_segmentation(str(network_files[f"refiner.{suffix}"]))
    with pytest.raises(EngineError, match=r"is a segmentation .*but a refiner network is needed"):
        load_refiner(str(network_files[f"segmentation.{suffix}"]))


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"does not exist"):
        OnnxSegmentation(tmp_path / "seg.onnx")
    with pytest.raises(EngineError, match=r"does not exist"):
        TorchRefiner(tmp_path / "ref.pt")


def test_corrupt_onnx_file(tmp_path: Path) -> None:
    (tmp_path / "seg.onnx").write_bytes(b"not a model")
    with pytest.raises(EngineError, match=r"seg.onnx: ONNX Runtime cannot load it"):
        OnnxSegmentation(tmp_path / "seg.onnx")


def test_onnx_without_our_metadata(network_files, tmp_path: Path) -> None:
    model = onnx.load(str(network_files["segmentation.onnx"]))
    del model.metadata_props[:]
    onnx.save(model, str(tmp_path / "bare.onnx"))
    with pytest.raises(EngineError, match=r"bare.onnx has no warp_refine_ros metadata; export it"):
        OnnxSegmentation(tmp_path / "bare.onnx")


def test_onnx_with_wrong_input_names(network_files, tmp_path: Path) -> None:
    model = onnx.load(str(network_files["segmentation.onnx"]))
    for node in model.graph.node:
        node.input[:] = ["input" if name == "image" else name for name in node.input]
    model.graph.input[0].name = "input"
    onnx.save(model, str(tmp_path / "renamed.onnx"))
    with pytest.raises(EngineError, match=r"needs inputs \['image'\] .* this one has inputs \['input'\]"):
        OnnxSegmentation(tmp_path / "renamed.onnx")


def test_onnx_with_a_fixed_input_size(network_files, tmp_path: Path) -> None:
    model = onnx.load(str(network_files["segmentation.onnx"]))
    for axis, size in ((2, 240), (3, 320)):
        model.graph.input[0].type.tensor_type.shape.dim[axis].dim_value = size
    onnx.save(model, str(tmp_path / "fixed.onnx"))
    with pytest.raises(EngineError, match=r"fixed shape .* export it with dynamic height and width"):
        OnnxSegmentation(tmp_path / "fixed.onnx")


def test_torch_cuda_request_without_cuda(network_files) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(EngineError, match=r"no CUDA; use --device cpu"):
        TorchSegmentation(network_files["segmentation.pt"], device="cuda")


def test_execution_providers_prefer_tensorrt_then_cuda(tmp_path: Path) -> None:
    assert execution_providers("cpu", available=["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CPUExecutionProvider"
    ]
    everything = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    providers = execution_providers("cuda:1", available=everything, trt_cache=tmp_path)
    assert [p if isinstance(p, str) else p[0] for p in providers] == everything
    trt_options = providers[0][1]
    assert trt_options == {
        "device_id": 1,
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(tmp_path),
        "trt_fp16_enable": True,
    }
    assert providers[1] == ("CUDAExecutionProvider", {"device_id": 1})
    cuda_only = execution_providers("cuda", available=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert cuda_only == [("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"]
    with pytest.raises(EngineError, match=r"no TensorRT or CUDA provider .* install onnxruntime-gpu"):
        execution_providers("cuda", available=["CPUExecutionProvider"])


def test_onnx_engines_run_without_torch(network_files) -> None:
    """Deployments install onnxruntime without torch: loading an .onnx engine must not import it."""
    code = (
        "import sys; from warp_refine_ros.engines.loading import load_segmentation, load_refiner; "
        f"load_segmentation({str(network_files['segmentation.onnx'])!r}); "
        f"load_refiner({str(network_files['refiner.onnx'])!r}); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_backend_the_loader_names_exists_and_takes_a_file_and_a_device() -> None:
    import importlib
    import inspect

    from warp_refine_ros.engines.loading import NETWORK_BACKENDS

    for role, kinds in NETWORK_BACKENDS.items():
        assert set(kinds) == {".pt", ".onnx", "tensorrt"}, role
        for module, name in kinds.values():  # TensorRT's module imports tensorrt only when one is built
            engine = getattr(importlib.import_module(f"warp_refine_ros.engines.{module}"), name)
            assert list(inspect.signature(engine).parameters)[:2] == ["path", "device"], (role, name)
