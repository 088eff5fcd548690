"""TensorRT sidecars: round trip, malformed files, and refusing engines built for another GPU or TensorRT."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import pytest

from warp_refine_ros.engines.loading import load_refiner, load_segmentation
from warp_refine_ros.engines.sidecar import (
    Environment,
    Sidecar,
    TensorSpec,
    check_compatible,
    read_sidecar,
    sidecar_path,
)
from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.modelspec import IMAGENET, ModelMetadata

BUILT = Environment(tensorrt="10.7.0", cuda="12.6", gpu="NVIDIA A10", compute_capability="8.6")
HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None


def segmentation_sidecar(spec: LabelSpec, environment: Environment = BUILT) -> Sidecar:
    metadata = ModelMetadata(
        arch="segmentation",
        normalization=IMAGENET,
        spec=spec,
        config={"feature_channels": 64},
        input_scale=0.5,
    )
    image = ((1, 3, 120, 160), (1, 3, 540, 960), (1, 3, 540, 960))
    return Sidecar(
        arch="segmentation",
        precision="fp16",
        tensors=(
            TensorSpec("image", "input", "float32", (1, 3, -1, -1), image),
            TensorSpec("probabilities", "output", "float32", (1, 19, -1, -1)),
            TensorSpec("features", "output", "float32", (1, 64, -1, -1)),
        ),
        environment=environment,
        metadata_props=metadata.to_props(),
        source="/models/segmentation.onnx",
        source_sha256="0" * 64,
        builder={"typing": "weak", "workspace_bytes": 1 << 30},
    )


def fake_engine(tmp_path: Path, sidecar: Sidecar, name: str = "segmentation.engine") -> Path:
    """An engine file TensorRT never sees (the checks under test run before it) and its sidecar."""
    path = tmp_path / name
    path.write_bytes(b"serialized engine")
    sidecar.write(path)
    return path


def test_round_trip_keeps_tensors_environment_and_metadata(tmp_path: Path, spec: LabelSpec) -> None:
    sidecar = segmentation_sidecar(spec)
    engine = fake_engine(tmp_path, sidecar)
    assert sidecar_path(engine) == tmp_path / "segmentation.engine.json"
    loaded = read_sidecar(engine)
    assert loaded == sidecar
    metadata = loaded.metadata(source="test")
    assert metadata.spec == spec and metadata.input_scale == 0.5 and metadata.normalization == IMAGENET
    assert loaded.names("input") == ("image",) and loaded.names("output") == ("probabilities", "features")
    document = json.loads(sidecar_path(engine).read_text())
    assert document["tensors"][0]["profile"] == {
        "min": [1, 3, 120, 160],
        "opt": [1, 3, 540, 960],
        "max": [1, 3, 540, 960],
    }
    assert document["environment"] == {
        "tensorrt": "10.7.0",
        "cuda": "12.6",
        "gpu": "NVIDIA A10",
        "compute_capability": "8.6",
    }


def test_profile_bounds(spec: LabelSpec) -> None:
    image = segmentation_sidecar(spec).tensor("image")
    assert image.accepts((1, 3, 120, 160)) and image.accepts((1, 3, 300, 960))
    assert not image.accepts((1, 3, 544, 960))  # taller than max
    assert not image.accepts((1, 3, 100, 160)) and not image.accepts((3, 120, 160))
    assert TensorSpec("flow", "output", "float32", (1, 2, -1, -1)).accepts((1, 2, 7, 9))


def test_same_machine_passes_and_cuda_may_differ(spec: LabelSpec) -> None:
    check_compatible(segmentation_sidecar(spec), BUILT, engine_path="seg.engine")
    check_compatible(segmentation_sidecar(spec), replace(BUILT, cuda="12.8"), engine_path="seg.engine")


def test_other_tensorrt_version_is_refused_with_the_fix(spec: LabelSpec) -> None:
    here = replace(BUILT, tensorrt="10.9.0")
    with pytest.raises(EngineError) as error:
        check_compatible(segmentation_sidecar(spec), here, engine_path="out/seg.engine")
    message = str(error.value)
    assert "out/seg.engine was built for TensorRT 10.7.0, this machine has 10.9.0" in message
    assert (
        "rebuild it on this machine from its ONNX model (/models/segmentation.onnx) with build_engines"
        in message
    )


def test_other_gpu_is_refused(spec: LabelSpec) -> None:
    here = Environment(tensorrt="10.7.0", cuda="12.6", gpu="NVIDIA H100 80GB HBM3", compute_capability="9.0")
    with pytest.raises(
        EngineError, match=r"built for a NVIDIA A10 \(compute capability 8\.6\), this machine has "
    ):
        check_compatible(segmentation_sidecar(spec), here, engine_path="seg.engine")
    same_arch_other_model = replace(BUILT, gpu="NVIDIA A40")
    with pytest.raises(EngineError, match="this machine has a NVIDIA A40"):
        check_compatible(segmentation_sidecar(spec), same_arch_other_model, engine_path="seg.engine")


def test_both_mismatches_are_named(spec: LabelSpec) -> None:
    here = Environment(tensorrt="11.0.0", cuda="13.0", gpu="NVIDIA L4", compute_capability="8.9")
    with pytest.raises(
        EngineError, match=r"TensorRT 10\.7\.0, this machine has 11\.0\.0 and for a NVIDIA A10"
    ):
        check_compatible(segmentation_sidecar(spec), here, engine_path="seg.engine")


def test_missing_and_malformed_sidecars(tmp_path: Path, spec: LabelSpec) -> None:
    engine = tmp_path / "seg.engine"
    engine.write_bytes(b"serialized engine")
    with pytest.raises(
        EngineError, match=r"seg\.engine has no sidecar seg\.engine\.json; build engines with build_engines"
    ):
        read_sidecar(engine)
    sidecar_path(engine).write_text("{not json")
    with pytest.raises(EngineError, match=r"cannot read the sidecar .*seg\.engine\.json"):
        read_sidecar(engine)
    sidecar_path(engine).write_text(json.dumps({"tensors": []}))
    with pytest.raises(EngineError, match="is not a warp_refine_ros TensorRT sidecar"):
        read_sidecar(engine)
    document = segmentation_sidecar(spec).to_dict()
    sidecar_path(engine).write_text(json.dumps({**document, "version": 9}))
    with pytest.raises(EngineError, match="sidecar version 9 is not supported"):
        read_sidecar(engine)
    del document["environment"]
    sidecar_path(engine).write_text(json.dumps(document))
    with pytest.raises(EngineError, match=r"malformed sidecar \(KeyError: 'environment'\)"):
        read_sidecar(engine)
    with pytest.raises(EngineError, match="unknown precision 'int8'"):
        replace(segmentation_sidecar(spec), precision="int8")


def test_loading_checks_the_sidecar_before_tensorrt(tmp_path: Path, spec: LabelSpec) -> None:
    engine = fake_engine(tmp_path, segmentation_sidecar(spec))
    with pytest.raises(EngineError, match="is a segmentation engine, but a refiner engine is needed here"):
        load_refiner(str(engine))
    bare = tmp_path / "bare.plan"
    bare.write_bytes(b"serialized engine")
    with pytest.raises(EngineError, match=r"bare\.plan has no sidecar"):
        load_segmentation(str(bare))


@pytest.mark.skipif(HAS_TENSORRT, reason="TensorRT is installed")
def test_loading_without_tensorrt_says_how_to_install_it(tmp_path: Path, spec: LabelSpec) -> None:
    engine = fake_engine(tmp_path, segmentation_sidecar(spec))
    with pytest.raises(
        EngineError, match=r"TensorRT is not installed .*pip install 'warp_refine_ros\[tensorrt\]'"
    ):
        load_segmentation(str(engine))
