"""The parity check on the CPU: ONNX Runtime against itself, another network, small and broken outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from warp_refine_ros.modelspec import read_onnx_metadata
from warp_refine_ros.networks.export import export_onnx
from warp_refine_ros.networks.random_init import random_network
from warp_refine_ros.networks.refiner import RefinerConfig
from warp_refine_ros.trt.parity import (
    DEFAULT_TOLERANCES,
    ParityError,
    Tolerance,
    check_parity,
    compare_outputs,
    onnx_reference,
)
from warp_refine_ros.trt.samples import sample_feeds

SIZE = (96, 128)


def onnx_runner(path: Path):
    """A candidate engine that is ONNX Runtime itself (what a perfect TensorRT build would give)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return lambda feeds: dict(zip(names, session.run(names, feeds), strict=True))


def test_a_faithful_engine_passes_with_zero_error(network_files) -> None:
    path = network_files["segmentation.onnx"]
    feeds = sample_feeds(read_onnx_metadata(path), SIZE)
    report = check_parity(path, onnx_runner(path), feeds, DEFAULT_TOLERANCES["fp32"])
    assert report.passed and report.failures == []
    probabilities, features = report.outputs
    assert probabilities.name == "probabilities" and probabilities.shape == (1, 19, 12, 16)
    assert probabilities.max_abs_error == 0.0 and probabilities.agreement == 1.0
    assert probabilities.agreement_kind == "labels" and 0 < probabilities.peak <= 1
    assert features.name == "features" and features.agreement is None and features.max_abs_error == 0.0
    assert "probabilities: max abs error 0 (mean 0, peak" in report.summary()
    assert report.to_dict()["passed"] is True and report.to_dict()["outputs"][0]["shape"] == [1, 19, 12, 16]


def test_another_network_fails_on_error_and_label_agreement(tmp_path: Path, network_files, spec) -> None:
    path = network_files["refiner.onnx"]
    other = export_onnx(
        random_network("refiner", RefinerConfig(), seed=99), tmp_path / "other.onnx", spec=spec
    )
    feeds = sample_feeds(read_onnx_metadata(path), SIZE, segmentation_scale=0.5)
    report = check_parity(path, onnx_runner(other), feeds, DEFAULT_TOLERANCES["fp16"])
    assert not report.passed
    (output,) = report.outputs
    assert output.max_abs_error > 0.1 and output.agreement < 0.9
    assert any("probabilities: max abs error" in failure for failure in report.failures)
    assert any("labels agree on" in failure and "< 99.00%" in failure for failure in report.failures)


def test_an_error_within_fp16_tolerance_fails_fp32(network_files) -> None:
    path = network_files["segmentation.onnx"]
    reference = onnx_reference(path, sample_feeds(read_onnx_metadata(path), SIZE))
    shifted = {name: value + np.float32(0.01) for name, value in reference.items()}  # labels unchanged
    fp16 = compare_outputs(reference, shifted, DEFAULT_TOLERANCES["fp16"])
    assert fp16.passed and fp16.outputs[0].agreement == 1.0
    assert fp16.outputs[0].max_abs_error == pytest.approx(0.01, rel=1e-3)
    fp32 = compare_outputs(reference, shifted, DEFAULT_TOLERANCES["fp32"])
    assert any(failure.startswith("probabilities: max abs error 0.01 > 0.00") for failure in fp32.failures)


def test_tolerance_scales_with_the_outputs_peak() -> None:
    reference = {"features": np.full((1, 4, 2, 2), 100.0, dtype=np.float32)}
    shifted = {"features": reference["features"] + 1.5}  # 1.5 % of the peak
    assert compare_outputs(reference, shifted, Tolerance(atol=0.0, rtol=0.02, min_agreement=1.0)).passed
    assert not compare_outputs(reference, shifted, Tolerance(atol=0.0, rtol=0.01, min_agreement=1.0)).passed


def test_flow_agreement_counts_vectors_within_one_pixel() -> None:
    flow = np.zeros((1, 2, 4, 5), dtype=np.float32)
    moved = flow.copy()
    moved[0, 0, 0, :] = 0.9  # end-point error 0.9 px: agrees
    moved[0, :, 1, :2] = 0.8  # error sqrt(0.8^2 + 0.8^2) = 1.13 px: disagrees
    report = compare_outputs(
        {"flow": flow}, {"flow": moved}, Tolerance(atol=2.0, rtol=0.0, min_agreement=0.95)
    )
    (output,) = report.outputs
    assert output.agreement_kind == "flow within 1 px" and output.agreement == pytest.approx(18 / 20)
    assert report.failures == ["flow: flow within 1 px agree on 90.00% of pixels < 95.00%"]


def test_non_finite_values_fail() -> None:
    reference = {"probabilities": np.full((1, 2, 3, 3), 0.5, dtype=np.float32)}
    broken = {"probabilities": np.full((1, 2, 3, 3), np.nan, dtype=np.float32)}
    report = compare_outputs(reference, broken, DEFAULT_TOLERANCES["fp16"])
    assert "probabilities: non-finite values" in report.failures


def test_structural_mismatches_raise() -> None:
    reference = {"flow": np.zeros((1, 2, 8, 8), dtype=np.float32)}
    with pytest.raises(ParityError, match=r"the engine has no output 'flow' \(it has \['flows'\]\)"):
        compare_outputs(reference, {"flows": reference["flow"]}, DEFAULT_TOLERANCES["fp32"])
    with pytest.raises(
        ParityError, match=r"output 'flow' is \(1, 2, 4, 4\) from the engine but \(1, 2, 8, 8\)"
    ):
        compare_outputs(reference, {"flow": np.zeros((1, 2, 4, 4))}, DEFAULT_TOLERANCES["fp32"])
