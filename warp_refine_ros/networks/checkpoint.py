"""One checkpoint format (.pt) for both networks, loadable with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (no pickled classes)::

    {"format": "warp_refine_ros/checkpoint", "version": 1,
     "arch": "segmentation" | "refiner", "config": asdict(config),
     "spec": LabelSpec.to_dict(), "normalization": {"mean": [...], "std": [...]},
     "state_dict": {...}, "metadata": {...},
     # only in checkpoints written during training, for --resume:
     "epoch": int, "optimizer": {...}, "scheduler": {...} | None, "metrics": {...}, "extra": {...}}

so loading rebuilds the exact architecture from ``arch`` and ``config``.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from warp_refine_ros.errors import EngineError, LabelError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.modelcard import check_against_card
from warp_refine_ros.modelspec import IMAGENET, Normalization, check_refiner_config
from warp_refine_ros.networks.refiner import RefinerConfig, RefinerNet
from warp_refine_ros.networks.segmentation import SegmentationConfig, SegmentationNet

FORMAT = "warp_refine_ros/checkpoint"
VERSION = 1
ARCHITECTURES: dict[str, tuple[type, type[nn.Module]]] = {
    "segmentation": (SegmentationConfig, SegmentationNet),
    "refiner": (RefinerConfig, RefinerNet),
}
NetworkConfig = SegmentationConfig | RefinerConfig


@dataclass
class TrainingState:
    """What a trainer needs to resume: where it stopped and its optimiser and schedule state."""

    epoch: int
    optimizer: dict[str, Any] | None = None
    scheduler: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. global step, best score, AMP scaler


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint; :meth:`model` rebuilds the network with its weights."""

    path: Path | None
    arch: str
    config: NetworkConfig
    spec: LabelSpec
    normalization: Normalization
    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, Any]
    training: TrainingState | None = None

    def model(self) -> nn.Module:
        """The network with these weights, in eval mode on the CPU."""
        model = build_model(self.arch, self.config)
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as err:
            raise EngineError(f"{self.path}: weights do not fit the {self.arch} architecture: {err}") from err
        return model.eval()


def config_from_dict(arch: str, data: dict[str, Any]) -> NetworkConfig:
    """Rebuild a config dataclass from ``asdict(config)``; unknown keys are an EngineError."""
    if arch not in ARCHITECTURES:
        raise EngineError(
            f"unknown network architecture {arch!r}; expected one of {', '.join(ARCHITECTURES)}"
        )
    if arch == "refiner":
        check_refiner_config(data, "this checkpoint")
    config_type = ARCHITECTURES[arch][0]
    known = {f.name for f in fields(config_type)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise EngineError(f"{arch} config has unknown keys {unknown}; it was written by a newer version")
    try:
        return config_type(**data)
    except (TypeError, ValueError) as err:
        raise EngineError(f"invalid {arch} config {data}: {err}") from err


def build_model(arch: str, config: NetworkConfig | dict[str, Any] | None = None) -> nn.Module:
    """A freshly initialised network of the named architecture (default hyper-parameters if no config)."""
    if arch not in ARCHITECTURES:
        raise EngineError(
            f"unknown network architecture {arch!r}; expected one of {', '.join(ARCHITECTURES)}"
        )
    config_type, model_type = ARCHITECTURES[arch]
    if config is None:
        config = config_type()
    elif isinstance(config, dict):
        config = config_from_dict(arch, config)
    elif not isinstance(config, config_type):
        raise TypeError(f"{arch} needs a {config_type.__name__}, got {type(config).__name__}")
    return model_type(config)


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    *,
    spec: LabelSpec,
    normalization: Normalization = IMAGENET,
    metadata: dict[str, Any] | None = None,
    training: TrainingState | None = None,
) -> Path:
    """Write ``model`` (unwrapped from DDP if needed) atomically: a crash never leaves half a file."""
    if isinstance(model, nn.parallel.DistributedDataParallel | nn.DataParallel):
        model = model.module
    arch = getattr(model, "arch", None)
    if arch not in ARCHITECTURES:
        raise TypeError(f"expected a SegmentationNet or RefinerNet, got {type(model).__name__}")
    classes = getattr(model.config, "num_classes", spec.num_classes)  # Omega is class-agnostic
    if classes != spec.num_classes:
        raise EngineError(
            f"the {arch} network predicts {classes} classes but the spec has {spec.num_classes}"
        )
    try:  # a JSON round trip leaves only plain types, which weights_only loading accepts
        metadata = json.loads(json.dumps({"torch": str(torch.__version__), **(metadata or {})}))
    except TypeError as err:
        raise TypeError(
            f"checkpoint metadata must be JSON-like (it is loaded with weights_only): {err}"
        ) from err
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "arch": arch,
        "config": asdict(model.config),
        "spec": spec.to_dict(),
        "normalization": normalization.to_dict(),
        "state_dict": {key: value.detach().cpu() for key, value in model.state_dict().items()},
        "metadata": metadata,
    }
    if training is not None:
        payload.update({f.name: getattr(training, f.name) for f in fields(training)})  # no deep copy
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    os.replace(partial, path)
    return path


def load_checkpoint(path: str | Path, *, arch: str | None = None) -> Checkpoint:
    """Read a checkpoint with ``weights_only=True``; ``arch`` rejects the other network's file."""
    path = Path(path)
    if not path.is_file():
        raise EngineError(f"checkpoint {path} does not exist")
    check_against_card(path)
    if not zipfile.is_zipfile(path):  # torch.save has written zip archives since torch 1.6
        raise EngineError(f"{path} is not a warp_refine_ros checkpoint (not a torch.save zip archive)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, KeyError, ValueError) as err:
        raise EngineError(f"{path} is not a warp_refine_ros checkpoint ({_load_failure(err)})") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise EngineError(
            f"{path} is not a warp_refine_ros checkpoint (no 'format': '{FORMAT}'); "
            "write checkpoints with train_seg / train_refiner or save_checkpoint"
        )
    if data.get("version") != VERSION:
        raise EngineError(
            f"{path}: checkpoint version {data.get('version')} is not supported (reads {VERSION})"
        )
    found = data.get("arch")
    if arch is not None and found != arch:
        raise EngineError(f"{path} is a {found} checkpoint, but a {arch} network is needed here")
    try:
        spec = LabelSpec.from_dict(data["spec"])
        checkpoint = Checkpoint(
            path=path,
            arch=found,
            config=config_from_dict(found, data["config"]),
            spec=spec,
            normalization=Normalization.from_dict(data["normalization"], source=str(path)),
            state_dict=data["state_dict"],
            metadata=data.get("metadata", {}),
            training=_training_state(data),
        )
    except (KeyError, LabelError) as err:
        raise EngineError(f"{path}: incomplete checkpoint ({err})") from err
    except EngineError as err:
        raise EngineError(f"{path}: {err}") from err
    classes = getattr(checkpoint.config, "num_classes", spec.num_classes)
    if classes != spec.num_classes:
        raise EngineError(f"{path}: the network has {classes} classes but its spec lists {spec.num_classes}")
    return checkpoint


def _training_state(data: dict[str, Any]) -> TrainingState | None:
    if "epoch" not in data:
        return None
    return TrainingState(**{f.name: data[f.name] for f in fields(TrainingState) if f.name in data})


def _load_failure(err: Exception) -> str:
    """The informative line of a torch.load error (its first lines are generic advice)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    reasons = [line for line in lines if "WeightsUnpickler error" in line]
    return (reasons or lines or [type(err).__name__])[0]
