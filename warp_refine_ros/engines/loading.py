"""Create engines from files or an engine-set YAML: the backend is chosen by the file suffix.

``dis`` / ``dis:<preset>``  OpenCV DIS optical flow (motion only, no file)
``.pt``                     our PyTorch checkpoint (architecture, hyper-parameters, class spec, weights)
``.onnx``                   ONNX Runtime (TensorRT -> CUDA -> CPU providers, as available)
``.engine`` / ``.plan``     TensorRT, with its JSON sidecar
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import yaml

from warp_refine_ros.engines.base import MotionEngine, RefinerEngine, SegmentationEngine
from warp_refine_ros.errors import EngineError
from warp_refine_ros.fileio import sha256
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.resources import share_path

SUFFIXES = (".pt", ".onnx", ".engine", ".plan")
ROLES = ("motion", "segmentation", "refiner")
SETTINGS = ("method", "radius", "tau")  # propagation defaults an engine set may carry
DEFAULT_ENGINES = "config/engines/default.yaml"  # the shipped CPU set, under the package's share folder


def default_engines() -> Path:
    """The shipped engine set: what bag_label, the node and adapt_labeler's baseline use by default."""
    return share_path(DEFAULT_ENGINES)


@dataclass
class EngineSet:
    """The engines one labeling run uses; any of them may be absent if the method does not need it."""

    motion: MotionEngine | None = None
    segmentation: SegmentationEngine | None = None
    refiner: RefinerEngine | None = None

    @classmethod
    def from_yaml(cls, path: str | Path, *, device: str = "cpu") -> EngineSet:
        """Load ``motion``, ``segmentation`` and ``refiner`` entries; paths are relative to the YAML."""
        return cls.from_files(**cls.names_in_yaml(path), device=device)

    @staticmethod
    def names_in_yaml(path: str | Path) -> dict[str, str | None]:
        """The engine entries of an engine-set YAML, with file paths resolved against its folder."""
        path = Path(path)
        data = _read_engine_set(path)

        def resolve(value: str | None) -> str | None:
            if value is None or not Path(value).suffix:
                return value  # absent, or a file-less engine such as "dis"
            return str((path.parent / value).resolve())

        return {role: resolve(data.get(role)) for role in ROLES}

    @staticmethod
    def settings_in_yaml(path: str | Path) -> dict[str, object]:
        """The propagation settings an engine set names (``method``, ``radius``, ``tau``, as
        ``adapt_labeler`` calibrated them), as written."""
        return {key: value for key, value in _read_engine_set(Path(path)).items() if key in SETTINGS}

    @classmethod
    def from_files(
        cls,
        *,
        motion: str | None = "dis",
        segmentation: str | None = None,
        refiner: str | None = None,
        device: str = "cpu",
    ) -> EngineSet:
        """Load each engine that is named; ``None`` leaves it out."""
        return cls(
            motion=load_motion(motion, device=device) if motion else None,
            segmentation=load_segmentation(segmentation, device=device) if segmentation else None,
            refiner=load_refiner(refiner, device=device) if refiner else None,
        )

    def class_spec(self, given: LabelSpec | None = None) -> LabelSpec:
        """The one rule for a run's classes: the spec given, else g's own, else Cityscapes' 19."""
        if given is not None:
            return given
        return self.segmentation.spec if self.segmentation is not None else LabelSpec.default()

    def describe(self) -> dict[str, str | None]:
        """Engine names for run records and logs."""
        return {
            role: getattr(engine, "name", None)
            for role, engine in (
                ("motion", self.motion),
                ("segmentation", self.segmentation),
                ("refiner", self.refiner),
            )
        }


@dataclass(frozen=True)
class EngineSources:
    """Where engines come from (an engine-set YAML, single files overriding its entries): picklable,
    loaded in each worker."""

    yaml: str | None = None
    motion: str | None = None
    segmentation: str | None = None
    refiner: str | None = None
    device: str = "cpu"

    def named(self) -> dict[str, str | None]:
        """Each role's engine name or file: the single entry where given, else the YAML's."""
        named = EngineSet.names_in_yaml(self.yaml) if self.yaml else dict.fromkeys(ROLES)
        singles = {"motion": self.motion, "segmentation": self.segmentation, "refiner": self.refiner}
        return {role: singles[role] or named[role] for role in ROLES}

    def identity(self, roles: Iterable[str]) -> dict[str, str | None]:
        """What each role's engine is, for telling one run's labels from another's: a file-less
        engine by name (``dis:fast``), a file by the hash of its bytes (so a retrained model differs)."""
        named = self.named()
        return {role: _identity(named[role]) for role in roles}

    def load(self, roles: Iterable[str] = ROLES) -> EngineSet:
        """Load the engines of the roles asked for; an engine the sources do not name stays None."""
        named, wanted = self.named(), set(roles)
        return EngineSet.from_files(
            **{role: named[role] if role in wanted else None for role in ROLES}, device=self.device
        )


def _read_engine_set(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as err:
        raise EngineError(f"engine set {path} does not exist") from err
    except (OSError, yaml.YAMLError) as err:
        raise EngineError(f"engine set {path} is not readable YAML: {err}") from err
    if not isinstance(data, dict):
        raise EngineError(f"engine set {path}: expected a mapping with {', '.join(ROLES)}")
    if unknown := set(data) - {*ROLES, *SETTINGS}:
        raise EngineError(
            f"engine set {path}: unknown keys {sorted(unknown)}; expected {', '.join(ROLES)} and optionally "
            f"{', '.join(SETTINGS)}"
        )
    return data


def _identity(name: str | None) -> str | None:
    if name is None or not Path(name).suffix:
        return None if name is None else canonical_motion(name)
    path = Path(name)
    if not path.is_file():
        raise EngineError(f"engine file {path} does not exist")
    return f"{path.name} sha256:{sha256(path)[:16]}"


def canonical_motion(name: str) -> str:
    """``dis`` names the default preset (``dis:medium``); other names stay as they are."""
    from warp_refine_ros.engines.dis import DEFAULT_PRESET

    return f"dis:{DEFAULT_PRESET}" if name == "dis" else name


def load_motion(name: str, *, device: str = "cpu") -> MotionEngine:
    """``dis[:preset]`` for OpenCV DIS, or a learned motion engine file (.onnx, .engine)."""
    if name == "dis" or name.startswith("dis:"):
        from warp_refine_ros.engines.dis import DisMotion

        try:
            return DisMotion(canonical_motion(name).partition(":")[2])
        except ValueError as err:
            raise EngineError(str(err)) from err
    path = _existing(name, "motion")
    if path.suffix == ".onnx":
        from warp_refine_ros.engines.onnx_backend import OnnxMotion

        return OnnxMotion(path, device=device)
    if path.suffix in (".engine", ".plan"):
        from warp_refine_ros.engines.tensorrt import TensorRTMotion

        return TensorRTMotion(path, device=_gpu(device))
    raise EngineError(f"motion engine {path}: use 'dis', 'dis:<preset>', an .onnx or a TensorRT .engine file")


NETWORK_BACKENDS = {  # role -> file kind -> (module of engines/, class): imported only when used
    "segmentation": {
        ".pt": ("torch_backend", "TorchSegmentation"),
        ".onnx": ("onnx_backend", "OnnxSegmentation"),
        "tensorrt": ("tensorrt", "TensorRTSegmentation"),
    },
    "refiner": {
        ".pt": ("torch_backend", "TorchRefiner"),
        ".onnx": ("onnx_backend", "OnnxRefiner"),
        "tensorrt": ("tensorrt", "TensorRTRefiner"),
    },
}


def load_segmentation(name: str, *, device: str = "cpu") -> SegmentationEngine:
    """A segmentation engine from a .pt checkpoint, an .onnx file or a TensorRT .engine/.plan."""
    return cast(SegmentationEngine, _load_network(name, "segmentation", device))


def load_refiner(name: str, *, device: str = "cpu") -> RefinerEngine:
    """A refiner engine from a .pt checkpoint, an .onnx file or a TensorRT .engine/.plan."""
    return cast(RefinerEngine, _load_network(name, "refiner", device))


def _load_network(name: str, role: str, device: str) -> SegmentationEngine | RefinerEngine:
    """A network engine of ``role`` run by the backend its file's kind calls for (any other suffix is
    a TensorRT engine, which runs on a GPU only)."""
    path = _existing(name, role)
    kind = path.suffix if path.suffix in (".pt", ".onnx") else "tensorrt"
    module, engine = NETWORK_BACKENDS[role][kind]
    backend = importlib.import_module(f"warp_refine_ros.engines.{module}")
    return getattr(backend, engine)(path, device=_gpu(device) if kind == "tensorrt" else device)


def _existing(name: str, role: str) -> Path:
    path = Path(name)
    if path.suffix not in SUFFIXES:
        raise EngineError(f"{role} engine {name!r}: unknown file type; expected one of {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise EngineError(f"{role} engine file {path} does not exist")
    return path


def _gpu(device: str) -> str:
    """TensorRT engines run on a GPU: ``cpu`` (the default) means the first one."""
    return "cuda" if device == "cpu" else device
