"""TensorRT builds and engines on a GPU: build_engines end to end, the engines against ONNX Runtime.

Skipped where TensorRT or CUDA is missing. Networks are small and random (segmentation, refiner and
the RAFT-shaped TinyRaft); camera sizes are small so the builds take seconds.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from warp_refine_ros.cli.build_engines import main
from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.engines.loading import EngineSet
from warp_refine_ros.engines.onnx_backend import OnnxMotion, OnnxRefiner, OnnxSegmentation
from warp_refine_ros.engines.sidecar import read_sidecar, sidecar_path
from warp_refine_ros.engines.tensorrt import (
    TensorRTMotion,
    TensorRTRefiner,
    TensorRTSegmentation,
    current_environment,
    image_batch,
)
from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import Frame, Method, Propagator

HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not HAS_TENSORRT, reason="TensorRT is not installed"),
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"),
]
SIZE = (120, 160)  # (H, W) of the test camera


def frame(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*SIZE, 3), dtype=np.uint8)


@pytest.fixture(scope="module", params=["fp32", "fp16"])
def built(request, tmp_path_factory, network_files, tiny_raft_onnx) -> Path:
    """``build_engines`` run on the three networks; the output folder."""
    folder = tmp_path_factory.mktemp(f"engines_{request.param}")
    source = folder / "source.yaml"
    source.write_text(
        yaml.safe_dump(
            {
                "motion": str(tiny_raft_onnx),
                "segmentation": str(network_files["segmentation.pt"]),
                "refiner": str(network_files["refiner.onnx"]),
            }
        )
    )
    argv = ["--out", folder / "out", "--precision", request.param, "--size", "160x120"]
    argv += ["--min-size", "64x48", "--max-size", "320x240", "--parity-size", "320x240"]
    assert main([str(source), *map(str, argv)]) == 0
    return folder / "out"


def test_build_writes_engines_sidecars_and_engine_sets(built: Path) -> None:
    written = yaml.safe_load((built / "engines.yaml").read_text())
    assert written == {
        "segmentation": "segmentation.engine",
        "refiner": "refiner.engine",
        "motion": "motion.engine",
    }
    assert (built / "timing.cache").stat().st_size > 0
    here = current_environment(torch.device("cuda", 0))
    for role in written:
        sidecar = read_sidecar(built / f"{role}.engine")
        assert sidecar.arch == role and sidecar.environment == here
        assert sidecar.parity["passed"] is True
        assert sidecar.builder["typing"] in ("weak", "strong")
    image = read_sidecar(built / "segmentation.engine").tensor("image")
    assert image.profile == ((1, 3, 24, 32), (1, 3, 60, 80), (1, 3, 120, 160))  # input_scale 0.5


def test_engines_load_from_the_yaml_and_match_onnx_runtime(built: Path, spec: LabelSpec) -> None:
    engines = EngineSet.from_yaml(built / "engines.yaml", device="cuda")
    onnx = EngineSet.from_yaml(built / "engines-onnx.yaml")
    assert isinstance(engines.segmentation, TensorRTSegmentation)
    assert isinstance(engines.refiner, TensorRTRefiner) and isinstance(engines.motion, TensorRTMotion)
    assert isinstance(onnx.segmentation, OnnxSegmentation) and isinstance(onnx.refiner, OnnxRefiner)
    assert isinstance(onnx.motion, OnnxMotion)
    precision = read_sidecar(built / "segmentation.engine").precision
    atol = 2e-3 if precision == "fp32" else 5e-2
    image, previous = frame(1), frame(2)
    got, expected = engines.segmentation.segment(image), onnx.segmentation.segment(image)
    np.testing.assert_allclose(got.probabilities, expected.probabilities, atol=atol)
    channels = expected.probabilities.argmax(axis=-1).astype(np.uint8)
    trusted = np.indices(channels.shape).sum(axis=0) % 3 > 0  # two of three pixels trusted
    np.testing.assert_allclose(
        engines.refiner.refine(channels, trusted, expected, image),
        onnx.refiner.refine(channels, trusted, expected, image),
        atol=atol,
    )
    flow = engines.motion.flow(image, previous)
    assert flow.shape == (*SIZE, 2)
    np.testing.assert_allclose(flow, onnx.motion.flow(image, previous), atol=atol * 10)
    propagator = Propagator(
        Method.WARP_REFINE,
        spec,
        motion=engines.motion,
        segmentation=engines.segmentation,
        refiner=engines.refiner,
    )
    keyframe = spec.one_hot(spec.to_ids(channels))
    assert propagator.step(keyframe, Frame(previous, 0), Frame(image, 1)).shape == (*SIZE, 19)


def test_tensor_api_chains_segmentation_into_the_refiner_on_the_gpu(built: Path) -> None:
    segmentation = TensorRTSegmentation(built / "segmentation.engine")
    refiner = TensorRTRefiner(built / "refiner.engine")
    image = frame(3)
    pixels = torch.from_numpy(image).cuda()
    small = (SIZE[0] // 2, SIZE[1] // 2)
    probabilities, _ = segmentation.segment_tensor(
        image_batch(pixels, segmentation.normalization, size=small)
    )
    assert probabilities.is_cuda and probabilities.shape == (1, 19, small[0] // 4, small[1] // 4)
    labels = torch.nn.functional.one_hot(torch.zeros(SIZE, dtype=torch.long, device="cuda"), 19)
    labels = labels.permute(2, 0, 1)[None].float()
    trust = torch.ones((1, 1, *SIZE), device="cuda")
    refined = refiner.refine_tensor(labels, trust, probabilities, image_batch(pixels, refiner.normalization))
    assert refined.is_cuda and refined.shape == (1, 19, *SIZE)
    torch.testing.assert_close(refined.sum(dim=1), torch.ones((1, *SIZE), device="cuda"), atol=1e-3, rtol=0)


def test_an_engine_from_another_machine_is_refused(built: Path, tmp_path: Path) -> None:
    engine = shutil.copy(built / "segmentation.engine", tmp_path / "segmentation.engine")
    document = json.loads(sidecar_path(built / "segmentation.engine").read_text())
    document["environment"]["tensorrt"] = "9.9.9"
    sidecar_path(engine).write_text(json.dumps(document))
    with pytest.raises(EngineError, match=r"built for TensorRT 9\.9\.9, this machine has .*rebuild it"):
        TensorRTSegmentation(engine)


def test_images_outside_the_profile_are_refused(built: Path) -> None:
    refiner = TensorRTRefiner(built / "refiner.engine")
    large = np.zeros((480, 640, 3), dtype=np.uint8)  # the profile stops at 320x240
    g = Segmentation(np.full((60, 80, 19), 1 / 19, dtype=np.float32), (480, 640))
    with pytest.raises(
        EngineError, match=r"input 'labels' of shape \(1, \d+, 480, 640\) is outside the engine's"
    ):
        refiner.refine(np.zeros((480, 640), np.uint8), np.ones((480, 640), bool), g, large)
