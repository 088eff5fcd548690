"""Build one TensorRT engine from an ONNX model, check it against ONNX Runtime, write it with its sidecar.

Precision follows the installed TensorRT: 10.x builds FP16 engines from the FP32 graph with the
``FP16`` builder flag (weak typing); 11.x removed those flags, so FP16 there means converting the
ONNX model to FP16 first (NVIDIA ModelOpt AutoCast, I/O kept FP32) and building a strongly typed
network. FP32 engines are built with TF32 off, so they match ONNX Runtime closely. A timing cache
file, when given, is loaded before and saved after each build, which makes rebuilds fast.

Nothing reaches the final path unless the parity check passes: the engine and its sidecar are
written as ``.partial`` files, run, compared, and only then renamed.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnx
import torch

from warp_refine_ros.engines.sidecar import PRECISIONS, Sidecar
from warp_refine_ros.engines.tensorrt import (
    TensorRTModel,
    cuda_device,
    current_environment,
    engine_tensors,
    import_tensorrt,
    trt_logger,
)
from warp_refine_ros.errors import EngineError
from warp_refine_ros.trt.parity import DEFAULT_TOLERANCES, ParityError, ParityReport, Tolerance, check_parity
from warp_refine_ros.trt.profiles import Profile

GIB = 1 << 30


@dataclass(frozen=True)
class BuildOptions:
    """How to build: precision, builder workspace, timing cache, GPU, and the parity tolerance."""

    precision: str = "fp16"
    workspace_bytes: int = 4 * GIB
    timing_cache: Path | None = None
    device: str = "cuda"
    tolerance: Tolerance | None = None  # None: DEFAULT_TOLERANCES[precision]

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise EngineError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        if self.workspace_bytes <= 0:
            raise EngineError(f"the builder workspace must be positive, got {self.workspace_bytes} bytes")

    @property
    def parity_tolerance(self) -> Tolerance:
        """The tolerance the parity check applies."""
        return self.tolerance or DEFAULT_TOLERANCES[self.precision]


@dataclass(frozen=True)
class BuiltEngine:
    """A finished engine: where it is, what its sidecar says, how long the build took."""

    path: Path
    sidecar: Sidecar
    build_seconds: float
    parity: ParityReport | None = field(default=None)


def typing_mode(trt: ModuleType) -> str:
    """``"weak"`` where TensorRT still has precision builder flags (10.x), ``"strong"`` where not (11.x+)."""
    major = int(str(trt.__version__).split(".")[0])
    return "weak" if major < 11 and hasattr(trt.BuilderFlag, "FP16") else "strong"


def build_engine(
    onnx_path: str | Path,
    engine_path: str | Path,
    *,
    arch: str,
    profile: Profile,
    metadata_props: dict[str, str],
    options: BuildOptions,
    parity_feeds: dict[str, np.ndarray] | None,
) -> BuiltEngine:
    """Build ``onnx_path`` into ``engine_path`` (+ ``.json`` sidecar); ParityError past the tolerance.

    ``parity_feeds`` None skips the parity check (the sidecar then records none).
    """
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    trt = import_tensorrt()
    device = cuda_device(options.device)
    mode = typing_mode(trt)
    with torch.cuda.device(device), tempfile.TemporaryDirectory() as scratch:
        parse_path = onnx_path
        if options.precision == "fp16" and mode == "strong":
            parse_path = fp16_onnx(onnx_path, Path(scratch) / "fp16.onnx")
        start = time.perf_counter()
        serialized = _build_serialized(trt, parse_path, profile, options, mode)
        build_seconds = time.perf_counter() - start
        runtime = trt.Runtime(trt_logger(trt))
        engine = runtime.deserialize_cuda_engine(serialized)
        if engine is None:
            raise EngineError(f"TensorRT built {onnx_path} but cannot load the result (see its log above)")
        sidecar = Sidecar(
            arch=arch,
            precision=options.precision,
            tensors=engine_tensors(trt, engine),
            environment=current_environment(device),
            metadata_props=metadata_props,
            source=str(onnx_path.resolve()),
            source_sha256=hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
            builder={
                "typing": mode,
                "tf32": options.precision != "fp32",
                "workspace_bytes": options.workspace_bytes,
                "timing_cache": str(options.timing_cache) if options.timing_cache else None,
                "build_seconds": round(build_seconds, 1),
            },
        )
        del engine, runtime
        partial = engine_path.with_name(engine_path.name + ".partial")
        engine_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(partial, "wb") as out:
                out.write(serialized)
            sidecar.write(partial)
            report = None
            if parity_feeds is not None:
                report = _parity(partial, onnx_path, arch, options, parity_feeds)
                sidecar = replace(sidecar, parity=report.to_dict())
            sidecar.write(engine_path)
            os.replace(partial, engine_path)
        finally:
            for leftover in (partial, partial.with_name(partial.name + ".json")):
                leftover.unlink(missing_ok=True)
    return BuiltEngine(engine_path, sidecar, build_seconds, report)


def fp16_onnx(source: Path, out: Path) -> Path:
    """An FP16 copy of ``source`` with FP32 inputs and outputs, for strongly typed FP16 builds."""
    try:
        from modelopt.onnx.autocast import convert_to_mixed_precision
    except ImportError as err:
        raise EngineError(
            "FP16 engines with TensorRT 11 or newer are built from an FP16 ONNX model (strong typing), "
            "converted with NVIDIA ModelOpt: pip install 'nvidia-modelopt[onnx]', or build --precision fp32"
        ) from err
    model = convert_to_mixed_precision(onnx_path=str(source), low_precision_type="fp16", keep_io_types=True)
    onnx.save(model, str(out))
    return out


def _build_serialized(
    trt: ModuleType, onnx_path: Path, profile: Profile, options: BuildOptions, mode: str
) -> Any:
    """Parse, configure (precision, workspace, profile, timing cache) and build; the serialized engine."""
    logger = trt_logger(trt)
    builder = trt.Builder(logger)
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if mode == "strong" else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineError(f"TensorRT cannot parse {onnx_path}: {errors}")
    inputs = sorted(network.get_input(i).name for i in range(network.num_inputs))
    if inputs != sorted(profile):
        raise EngineError(
            f"{onnx_path} has inputs {inputs}, the optimisation profile names {sorted(profile)}"
        )
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_bytes)
    if options.precision == "fp16" and mode == "weak":
        config.set_flag(trt.BuilderFlag.FP16)
    if options.precision == "fp32":
        config.clear_flag(trt.BuilderFlag.TF32)
    shapes = builder.create_optimization_profile()
    for name, (low, opt, high) in profile.items():
        shapes.set_shape(name, low, opt, high)
    config.add_optimization_profile(shapes)
    if options.timing_cache is not None:
        _attach_timing_cache(config, options.timing_cache)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineError(f"TensorRT could not build an engine from {onnx_path} (see its log above)")
    if options.timing_cache is not None:
        _save_timing_cache(config, options.timing_cache)
    return serialized


def _attach_timing_cache(config: Any, path: Path) -> None:
    """Reuse the timing cache at ``path`` if it was made by this TensorRT on this GPU; else start afresh."""
    data = path.read_bytes() if path.is_file() else b""
    cache = config.create_timing_cache(data)
    if not config.set_timing_cache(cache, ignore_mismatch=False):
        print(
            f"timing cache {path} was made elsewhere (another GPU or TensorRT); starting a new one",
            file=sys.stderr,
        )
        config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)


def _save_timing_cache(config: Any, path: Path) -> None:
    """Write the builder's (grown) timing cache back to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as out:
        out.write(config.get_timing_cache().serialize())
    os.replace(partial, path)


def _parity(
    engine_path: Path, onnx_path: Path, arch: str, options: BuildOptions, feeds: dict[str, np.ndarray]
) -> ParityReport:
    """Run the freshly built engine and ONNX Runtime on ``feeds``; ParityError if they disagree."""
    model = TensorRTModel(engine_path, arch=arch, device=options.device)
    report = check_parity(onnx_path, model.run_numpy, feeds, options.parity_tolerance)
    if not report.passed:
        raise ParityError(
            f"{engine_path.name.removesuffix('.partial')} ({options.precision}) does not match "
            f"{onnx_path.name} in ONNX Runtime: {'; '.join(report.failures)}.\n{report.summary()}\n"
            "Nothing was written. Check the model in FP32 (--precision fp32), or loosen the check "
            "(--atol/--rtol/--min-agreement) if the differences are acceptable."
        )
    return report
