"""Parity check: does a built engine compute what its ONNX model computes in ONNX Runtime?

Both run on the same sample inputs; for each output the check reports the largest and mean absolute
error and, where the output has a decision in it, the agreement of those decisions: the labels
(arg-max over classes) for ``probabilities``, flow vectors within 1 px (end-point error) for
``flow``. An output fails when its largest error exceeds ``atol + rtol * peak`` (``peak`` = the
largest magnitude of the ONNX Runtime output) or its agreement falls below ``min_agreement``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from warp_refine_ros.errors import EngineError

FLOW_AGREEMENT_PX = 1.0  # flow vectors closer than this (end-point error, pixels) agree
Outputs = Mapping[str, np.ndarray]


class ParityError(EngineError):
    """A built engine does not reproduce its ONNX model within the tolerance."""


@dataclass(frozen=True)
class Tolerance:
    """How far an engine may stray from ONNX Runtime: ``|error| <= atol + rtol * peak``, and agreement."""

    atol: float
    rtol: float
    min_agreement: float


# FP32 engines are built with TF32 off, so they differ from ONNX Runtime by kernel summation order
# only; FP16 keeps about three significant digits through every layer.
DEFAULT_TOLERANCES = {
    "fp32": Tolerance(atol=1e-3, rtol=1e-3, min_agreement=0.999),
    "fp16": Tolerance(atol=2e-2, rtol=2e-2, min_agreement=0.99),
}


@dataclass(frozen=True)
class OutputParity:
    """How one output of the engine compares with ONNX Runtime's."""

    name: str
    shape: tuple[int, ...]
    max_abs_error: float
    mean_abs_error: float
    peak: float  # largest |value| of the reference output
    agreement: float | None  # fraction of matching decisions, None for outputs without decisions
    agreement_kind: str | None  # "labels" | "flow within 1 px"

    def failures(self, tolerance: Tolerance) -> list[str]:
        """What is out of tolerance, in words; empty when the output passes."""
        problems = []
        allowed = tolerance.atol + tolerance.rtol * self.peak
        if not np.isfinite(self.max_abs_error):
            problems.append(f"{self.name}: non-finite values")
        elif self.max_abs_error > allowed:
            problems.append(
                f"{self.name}: max abs error {self.max_abs_error:.3g} > {allowed:.3g} "
                f"(atol {tolerance.atol:g} + rtol {tolerance.rtol:g} x peak {self.peak:.3g})"
            )
        if self.agreement is not None and not self.agreement >= tolerance.min_agreement:
            problems.append(
                f"{self.name}: {self.agreement_kind} agree on {100 * self.agreement:.2f}% of pixels "
                f"< {100 * tolerance.min_agreement:.2f}%"
            )
        return problems


@dataclass(frozen=True)
class ParityReport:
    """Per-output comparison and the tolerance it was judged by."""

    outputs: tuple[OutputParity, ...]
    tolerance: Tolerance

    @property
    def failures(self) -> list[str]:
        """Every out-of-tolerance finding."""
        return [problem for output in self.outputs for problem in output.failures(self.tolerance)]

    @property
    def passed(self) -> bool:
        """True when every output is within tolerance."""
        return not self.failures

    def summary(self) -> str:
        """One line per output, for the build log."""
        lines = []
        for output in self.outputs:
            agreement = (
                f", {output.agreement_kind} agree {100 * output.agreement:.2f}%"
                if output.agreement is not None
                else ""
            )
            lines.append(
                f"{output.name}: max abs error {output.max_abs_error:.3g} "
                f"(mean {output.mean_abs_error:.3g}, peak {output.peak:.3g}){agreement}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored in the engine's sidecar."""
        return {
            "passed": self.passed,
            "tolerance": asdict(self.tolerance),
            "outputs": [{**asdict(o), "shape": list(o.shape)} for o in self.outputs],
        }


def compare_outputs(reference: Outputs, candidate: Outputs, tolerance: Tolerance) -> ParityReport:
    """Compare every output of ``reference`` with the same-named output of ``candidate``."""
    results = []
    for name, expected in reference.items():
        if name not in candidate:
            raise ParityError(f"the engine has no output {name!r} (it has {sorted(candidate)})")
        got = np.asarray(candidate[name], dtype=np.float32)
        expected = np.asarray(expected, dtype=np.float32)
        if got.shape != expected.shape:
            raise ParityError(
                f"output {name!r} is {got.shape} from the engine but {expected.shape} from ONNX"
            )
        error = np.abs(got - expected)
        agreement, kind = _agreement(name, expected, got)
        results.append(
            OutputParity(
                name=name,
                shape=expected.shape,
                max_abs_error=float(error.max(initial=0.0)),
                mean_abs_error=float(error.mean()) if error.size else 0.0,
                peak=float(np.abs(expected).max(initial=0.0)),
                agreement=agreement,
                agreement_kind=kind,
            )
        )
    return ParityReport(tuple(results), tolerance)


def onnx_reference(onnx_path: str | Path, feeds: Outputs) -> dict[str, np.ndarray]:
    """Every output of ``onnx_path`` run by ONNX Runtime on the CPU: the reference the engine must match."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, dict(feeds)), strict=True))


def check_parity(
    onnx_path: str | Path,
    run: Callable[[dict[str, np.ndarray]], Outputs],
    feeds: Outputs,
    tolerance: Tolerance,
) -> ParityReport:
    """Run ``run`` (the engine, on host arrays) and ONNX Runtime on ``feeds`` and compare them."""
    return compare_outputs(onnx_reference(onnx_path, feeds), run(dict(feeds)), tolerance)


def _agreement(name: str, expected: np.ndarray, got: np.ndarray) -> tuple[float | None, str | None]:
    """Decision agreement: arg-max labels for probabilities, end-point error < 1 px for flow (B, 2, H, W)."""
    if name == "probabilities" and expected.ndim == 4:
        return float(np.mean(expected.argmax(axis=1) == got.argmax(axis=1))), "labels"
    if name == "flow" and expected.ndim == 4 and expected.shape[1] == 2:
        endpoint_error = np.sqrt(((expected - got) ** 2).sum(axis=1))
        return float(np.mean(endpoint_error < FLOW_AGREEMENT_PX)), f"flow within {FLOW_AGREEMENT_PX:g} px"
    return None, None
