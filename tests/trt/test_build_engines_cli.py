"""build_engines on a machine without TensorRT: arguments, engine-set handling, ONNX export, clear errors."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from warp_refine_ros.cli.build_engines import main
from warp_refine_ros.engines.dis import DisMotion
from warp_refine_ros.engines.loading import EngineSet
from warp_refine_ros.engines.onnx_backend import OnnxMotion, OnnxRefiner, OnnxSegmentation
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.modelspec import read_onnx_metadata
from warp_refine_ros.propagation import Frame, Method, Propagator

REPO = Path(__file__).resolve().parents[2]
HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None
HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


def engine_set(path: Path, **entries: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(entries))
    return path


def build(capsys, *argv: str) -> tuple[int, str, str]:
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_onnx_only_exports_checkpoints_and_writes_a_loadable_engine_set(
    tmp_path: Path, capsys, network_files, spec: LabelSpec
) -> None:
    source = engine_set(
        tmp_path / "in" / "engines.yaml",
        motion="dis:ultrafast",
        segmentation=str(network_files["segmentation.pt"]),
        refiner=str(network_files["refiner.onnx"]),
    )
    out = tmp_path / "out"
    status, stdout, _ = build(capsys, source, "--out", out, "--onnx-only")
    assert status == 0 and f"wrote {out / 'engines-onnx.yaml'}" in stdout
    written = yaml.safe_load((out / "engines-onnx.yaml").read_text())
    assert written["motion"] == "dis:ultrafast" and written["segmentation"] == "segmentation.onnx"
    assert (out / written["refiner"]).resolve() == network_files[
        "refiner.onnx"
    ].resolve()  # used in place, relative
    assert read_onnx_metadata(out / "segmentation.onnx") == read_onnx_metadata(
        network_files["segmentation.onnx"]
    )
    assert "ONNX Runtime engine set written by build_engines" in (out / "engines-onnx.yaml").read_text()
    assert not (out / "engines.yaml").exists() and not list(out.glob("*.engine"))

    engines = EngineSet.from_yaml(out / "engines-onnx.yaml")
    assert isinstance(engines.motion, DisMotion) and isinstance(engines.segmentation, OnnxSegmentation)
    assert isinstance(engines.refiner, OnnxRefiner)
    rng = np.random.default_rng(0)
    previous, image = (rng.integers(0, 256, (64, 96, 3), dtype=np.uint8) for _ in range(2))
    propagator = Propagator(
        Method.WARP_REFINE,
        spec,
        motion=engines.motion,
        segmentation=engines.segmentation,
        refiner=engines.refiner,
    )
    labels = propagator.step(spec.one_hot(np.zeros((64, 96), np.uint8)), Frame(previous, 0), Frame(image, 1))
    assert labels.shape == (64, 96, 19)


def test_a_motion_onnx_entry_is_kept(tmp_path: Path, capsys, tiny_raft_onnx: Path) -> None:
    source = engine_set(tmp_path / "engines.yaml", motion=str(tiny_raft_onnx))
    status, _, _ = build(capsys, source, "--out", tmp_path / "out", "--onnx-only")
    assert status == 0
    assert isinstance(EngineSet.from_yaml(tmp_path / "out" / "engines-onnx.yaml").motion, OnnxMotion)


@pytest.mark.skipif(HAS_TENSORRT, reason="TensorRT is installed")
def test_without_tensorrt_it_stops_before_exporting_anything(tmp_path: Path, capsys, network_files) -> None:
    source = engine_set(tmp_path / "engines.yaml", segmentation=str(network_files["segmentation.pt"]))
    status, _, stderr = build(capsys, source, "--out", tmp_path / "out")
    assert status == 2
    assert stderr.startswith("error: TensorRT is not installed")
    assert "pip install 'warp_refine_ros[tensorrt]'" in stderr and stderr.count("\n") == 1  # one line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("role", "value", "message"),
    [
        (
            "segmentation",
            "seg.engine",
            r"segmentation .*seg\.engine is already a TensorRT engine; name the \.onnx",
        ),
        ("segmentation", "missing.onnx", r"segmentation file .*missing\.onnx does not exist"),
        ("segmentation", "dis", r"segmentation must be a \.pt or \.onnx file, got 'dis'"),
        ("refiner", "segmentation.onnx", "is a segmentation network, but the engine set names it as refiner"),
        ("refiner", "segmentation.pt", "is a segmentation checkpoint, but a refiner network is needed here"),
        ("motion", "segmentation.pt", r"motion .*segmentation\.pt is not an \.onnx file"),
    ],
)
def test_engine_set_entries_that_cannot_be_built(
    tmp_path: Path, capsys, network_files, role: str, value: str, message: str
) -> None:
    (tmp_path / "seg.engine").write_bytes(b"engine")
    source = engine_set(tmp_path / "engines.yaml", **{role: str(network_files.get(value, value))})
    status, _, stderr = build(capsys, source, "--out", tmp_path / "out", "--onnx-only")
    assert status == 2 and stderr.startswith("error: ")
    assert re.search(message, stderr), stderr


@pytest.mark.skipif(HAS_TORCHVISION, reason="torchvision is installed")
def test_raft_without_torchvision(tmp_path: Path, capsys) -> None:
    source = engine_set(tmp_path / "engines.yaml", motion="dis")
    status, _, stderr = build(
        capsys, source, "--out", tmp_path / "out", "--onnx-only", "--motion", "raft_small"
    )
    assert status == 2 and "the RAFT motion engine needs torchvision" in stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--size", "1920by1080"], "image size '1920by1080' is not WIDTHxHEIGHT"),
        (["--min-size", "2000x2000"], "camera sizes must satisfy min <= opt <= max"),
        (["--workspace", "0"], "the builder workspace must be positive"),
    ],
)
def test_bad_values(tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    source = engine_set(tmp_path / "engines.yaml", motion="dis")
    status, _, stderr = build(capsys, source, "--out", tmp_path / "out", *argv)
    assert status == 2 and f"error: {message}" in stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--raft-weights", "w.pth"], "--raft-weights goes with --motion"),
        (["--min-agreement", "2"], r"--min-agreement in \[0, 1\]"),
        (["--atol", "-1"], "--atol and --rtol must be >= 0"),
        (["--raft-iterations", "0"], "--raft-iterations must be at least 1"),
        (["--precision", "int8"], "invalid choice: 'int8'"),
    ],
)
def test_bad_arguments(tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    source = engine_set(tmp_path / "engines.yaml", motion="dis")
    with pytest.raises(SystemExit) as exit_status:
        main([str(source), "--out", str(tmp_path / "out"), *argv])
    assert exit_status.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_script_wrapper_runs_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "trt_build" / "build_engines.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.startswith("usage: build_engines")
