"""The JSON sidecar of a TensorRT engine, and the check that the engine fits this machine.

A serialized TensorRT engine only runs with the TensorRT version and on the GPU model it was built
for, and says nothing about what its tensors mean. ``build_engines`` therefore writes
``<name>.engine.json`` beside every engine: its tensors (names, dtypes, shapes, profile
min/opt/max), precision, the TensorRT, CUDA and GPU it was built with, the ONNX model's metadata
(class spec, normalisation, input scale) and the parity check's result. Nothing here imports
TensorRT, so the checks run and are tested anywhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from warp_refine_ros.errors import EngineError
from warp_refine_ros.modelspec import ModelMetadata

FORMAT = "warp_refine_ros/tensorrt-sidecar"
VERSION = 1
PRECISIONS = ("fp32", "fp16")
Shape = tuple[int, ...]


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of an engine; ``-1`` marks a dynamic axis, ``profile`` is (min, opt, max)."""

    name: str
    mode: str  # "input" | "output"
    dtype: str  # numpy name: "float32", "float16", ...
    shape: Shape
    profile: tuple[Shape, Shape, Shape] | None = None  # inputs only

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and strings for JSON."""
        data: dict[str, Any] = {
            "name": self.name,
            "mode": self.mode,
            "dtype": self.dtype,
            "shape": list(self.shape),
        }
        if self.profile is not None:
            data["profile"] = dict(zip(("min", "opt", "max"), (list(s) for s in self.profile), strict=True))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorSpec:
        """Inverse of :meth:`to_dict`; KeyError/TypeError/ValueError on malformed input."""
        profile = data.get("profile")
        if profile is not None:
            profile = tuple(tuple(int(v) for v in profile[key]) for key in ("min", "opt", "max"))
        return cls(
            name=str(data["name"]),
            mode=str(data["mode"]),
            dtype=str(data["dtype"]),
            shape=tuple(int(v) for v in data["shape"]),
            profile=profile,
        )

    def accepts(self, shape: Shape) -> bool:
        """Whether an input of ``shape`` lies inside this tensor's optimisation profile."""
        if self.profile is None:
            fixed = zip(self.shape, shape, strict=False)
            return len(shape) == len(self.shape) and all(d in (-1, s) for d, s in fixed)
        low, _, high = self.profile
        return len(shape) == len(low) and all(
            lo <= s <= hi for lo, s, hi in zip(low, shape, high, strict=True)
        )


@dataclass(frozen=True)
class Environment:
    """The TensorRT, CUDA and GPU an engine is built for or loaded on."""

    tensorrt: str
    cuda: str
    gpu: str
    compute_capability: str  # "8.6"

    def describe(self) -> str:
        """One line for messages: 'TensorRT 10.7.0 on NVIDIA A10 (compute capability 8.6, CUDA 12.6)'."""
        return (
            f"TensorRT {self.tensorrt} on {self.gpu} "
            f"(compute capability {self.compute_capability}, CUDA {self.cuda})"
        )


@dataclass(frozen=True)
class Sidecar:
    """Everything ``build_engines`` knows about an engine that the engine file does not say."""

    arch: str
    precision: str
    tensors: tuple[TensorSpec, ...]
    environment: Environment
    metadata_props: dict[str, str]  # the ONNX model's warp_refine_ros.* metadata_props
    source: str  # the ONNX file it was built from
    source_sha256: str
    builder: dict[str, Any] = field(default_factory=dict)  # workspace, typing mode, timing cache, ...
    parity: dict[str, Any] | None = None  # the parity check's report, None if it was skipped

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise EngineError(
                f"unknown precision {self.precision!r}; expected one of {', '.join(PRECISIONS)}"
            )

    def metadata(self, *, source: str) -> ModelMetadata:
        """The network's class spec, normalisation and input scale (motion networks may have none)."""
        if self.arch == "motion":
            return ModelMetadata.for_motion(self.metadata_props, source=source)
        return ModelMetadata.from_props(self.metadata_props, source=source)

    def tensor(self, name: str) -> TensorSpec:
        """The tensor called ``name``; KeyError if the engine has none."""
        for tensor in self.tensors:
            if tensor.name == name:
                return tensor
        raise KeyError(name)

    def names(self, mode: str) -> tuple[str, ...]:
        """Input (``mode="input"``) or output tensor names, in engine order."""
        return tuple(t.name for t in self.tensors if t.mode == mode)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document, with format and version."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "arch": self.arch,
            "precision": self.precision,
            "tensors": [t.to_dict() for t in self.tensors],
            "environment": asdict(self.environment),
            "metadata_props": dict(self.metadata_props),
            "source": self.source,
            "source_sha256": self.source_sha256,
            "builder": self.builder,
            "parity": self.parity,
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str) -> Sidecar:
        """Parse :meth:`to_dict` output; EngineError naming ``source`` if it is not one."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise EngineError(f"{source} is not a warp_refine_ros TensorRT sidecar (no 'format': '{FORMAT}')")
        if data.get("version") != VERSION:
            raise EngineError(
                f"{source}: sidecar version {data.get('version')} is not supported (reads {VERSION})"
            )
        try:
            return cls(
                arch=str(data["arch"]),
                precision=str(data["precision"]),
                tensors=tuple(TensorSpec.from_dict(t) for t in data["tensors"]),
                environment=Environment(**{k: str(v) for k, v in data["environment"].items()}),
                metadata_props={str(k): str(v) for k, v in data["metadata_props"].items()},
                source=str(data["source"]),
                source_sha256=str(data["source_sha256"]),
                builder=dict(data.get("builder") or {}),
                parity=data.get("parity"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise EngineError(f"{source}: malformed sidecar ({type(err).__name__}: {err})") from err

    def write(self, engine_path: str | Path) -> Path:
        """Write ``<engine>.json`` atomically; returns its path."""
        path = sidecar_path(engine_path)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)
        return path


def sidecar_path(engine_path: str | Path) -> Path:
    """``model.engine`` -> ``model.engine.json``."""
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + ".json")


def read_sidecar(engine_path: str | Path) -> Sidecar:
    """The sidecar of ``engine_path``; EngineError if it is missing or unreadable."""
    path = sidecar_path(engine_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise EngineError(
            f"TensorRT engine {engine_path} has no sidecar {path.name}; build engines with build_engines, "
            "which writes both"
        ) from err
    except (OSError, ValueError) as err:
        raise EngineError(f"cannot read the sidecar {path}: {err}") from err
    return Sidecar.from_dict(data, source=str(path))


def check_compatible(sidecar: Sidecar, current: Environment, *, engine_path: str | Path) -> None:
    """EngineError unless this machine has the TensorRT version and GPU model the engine was built for.

    CUDA may differ (TensorRT loads kernels through the driver); the GPU model and its compute
    capability may not, nor the TensorRT version: engines are not portable across either.
    """
    built = sidecar.environment
    problems = []
    if built.tensorrt != current.tensorrt:
        problems.append(f"TensorRT {built.tensorrt}, this machine has {current.tensorrt}")
    if built.gpu != current.gpu or built.compute_capability != current.compute_capability:
        problems.append(
            f"a {built.gpu} (compute capability {built.compute_capability}), this machine has a "
            f"{current.gpu} (compute capability {current.compute_capability})"
        )
    if problems:
        raise EngineError(
            f"TensorRT engine {engine_path} was built for {' and for '.join(problems)}. A TensorRT engine "
            f"only runs with the TensorRT version and GPU model it was built for: rebuild it on this "
            f"machine from its ONNX model ({sidecar.source}) with build_engines, or use the .onnx file."
        )
