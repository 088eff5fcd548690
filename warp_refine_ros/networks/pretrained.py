"""Start g from weights in a file instead of from scratch: one of our segmentation checkpoints, or
torchvision's ImageNet MobileNetV3-Small, whose ``features.0``-``features.11`` our encoder follows
layer for layer (stem, then the 11 inverted residuals with the last three dilated as in LR-ASPP).

A few keyframes of a new camera cannot train an encoder from nothing; an ImageNet one only needs
adapting, and a decoder and classifier learn quickly on top of it.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.checkpoint import FORMAT, Checkpoint, _load_failure, load_checkpoint
from warp_refine_ros.networks.segmentation import SegmentationConfig, SegmentationNet

TORCHVISION_FILE = "mobilenet_v3_small-047dcff4.pth"
TORCHVISION_URL = f"https://download.pytorch.org/models/{TORCHVISION_FILE}"  # MobileNet_V3_Small_Weights
TORCHVISION_BN_EPS = 1e-3  # torchvision's MobileNetV3 batch norm; ours keeps torch's default 1e-5
ACCEPTED = (
    "expected a warp_refine_ros segmentation checkpoint (.pt, as train_seg writes) or torchvision's "
    f"ImageNet mobilenet_v3_small weights ({TORCHVISION_FILE}, from {TORCHVISION_URL})"
)
SHAPE_FIELDS = ("width", "feature_channels", "head_channels")  # config fields that change tensor shapes
ENCODER_STAGES = ("quarter", "eighth", "sixteenth")  # g's encoder in order: stem + blocks 0-10
RENAMES = {"body": "block", "reduce": "fc1", "expand": "fc2"}  # our module names -> torchvision's
TORCHVISION_UNUSED = ("features.12.", "classifier.")  # its last 1x1 convolution and ImageNet head


@dataclass(frozen=True)
class InitSummary:
    """What :func:`init_segmentation` took from a file; print it, and record :meth:`to_dict` with the run."""

    path: Path
    kind: str  # "checkpoint" or "torchvision"
    loaded: tuple[str, ...]  # g's tensors that now hold the file's values
    skipped: dict[str, tuple[str, ...]] = field(default_factory=dict)  # reason -> tensor names
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [f"initialised g from {self.path} ({self.kind}): {len(self.loaded)} tensors loaded"]
        lines += [f"  {len(names)} skipped: {reason}" for reason, names in self.skipped.items()]
        return "\n".join(lines + [f"  note: {note}" for note in self.notes])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values for metrics.json and checkpoint metadata."""
        return {
            "file": str(self.path),
            "kind": self.kind,
            "loaded": len(self.loaded),
            "skipped": {reason: list(names) for reason, names in self.skipped.items()},
            "notes": list(self.notes),
        }


def init_segmentation(model: SegmentationNet, path: str | Path, *, spec: LabelSpec) -> InitSummary:
    """Copy weights from ``path`` into ``model`` in place; ``spec`` is the class spec g will learn."""
    path = Path(path)
    data = _read(path)
    if isinstance(data, dict) and data.get("format") == FORMAT:
        return _from_checkpoint(model, path, load_checkpoint(path, arch="segmentation"), spec)
    if _is_state_dict(data) and any(name.startswith("features.") for name in data):
        return _from_torchvision(model, path, data)
    raise EngineError(f"{path} holds neither kind of weights g can start from; {ACCEPTED}")


def starting_config(path: str | Path, spec: LabelSpec) -> SegmentationConfig:
    """The architecture a g that starts from ``path`` must have, learning ``spec``'s classes: the
    checkpoint's own, or the default one torchvision's encoder fits."""
    path = Path(path)
    data = _read(path)
    if isinstance(data, dict) and data.get("format") == FORMAT:
        found = load_checkpoint(path, arch="segmentation").config
        return replace(found, num_classes=spec.num_classes)
    return SegmentationConfig(num_classes=spec.num_classes)


def _torchvision_names(model: SegmentationNet) -> dict[str, str]:
    """g's encoder tensor names -> torchvision's mobilenet_v3_small names (``features.N.block.M...``)."""
    prefixes = [f"{stage}.{i}." for stage in ENCODER_STAGES for i in range(len(getattr(model, stage)))]
    names = {}
    for name in model.state_dict():
        for index, prefix in enumerate(prefixes):  # index 0 is the stem, 1-11 the inverted residuals
            if name.startswith(prefix):
                parts = [RENAMES.get(part, part) for part in name[len(prefix) :].split(".")]
                names[name] = ".".join([f"features.{index}", *parts])
    return names


def _is_state_dict(data: object) -> bool:
    return isinstance(data, dict) and all(isinstance(name, str) for name in data)


def _read(path: Path) -> object:
    if not path.is_file():
        raise EngineError(f"weights file {path} does not exist; {ACCEPTED}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, KeyError, ValueError) as err:
        raise EngineError(f"{path} cannot be read as weights ({_load_failure(err)}); {ACCEPTED}") from err


def _from_checkpoint(
    model: SegmentationNet, path: Path, checkpoint: Checkpoint, spec: LabelSpec
) -> InitSummary:
    """Every tensor whose name and shape match; the classifier only when the file has the same classes."""
    theirs, ours = checkpoint.config, model.config
    differing = [name for name in SHAPE_FIELDS if getattr(theirs, name) != getattr(ours, name)]
    if differing:
        found = ", ".join(f"{name}={getattr(theirs, name)}" for name in differing)
        wanted = ", ".join(f"{name}={getattr(ours, name)}" for name in differing)
        raise EngineError(
            f"{path}: its g has {found} but this one {wanted}; these set the weights' shapes, "
            "so build g with the file's values (train_seg --width, --feature-channels)"
        )
    new_classes = bool(checkpoint.spec.class_differences(spec))
    new_spec = (
        f"classifier: the file's {checkpoint.spec.num_classes} classes are not the "
        f"{spec.num_classes} of this spec"
    )
    state = model.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    skipped: dict[str, list[str]] = {}
    for name, tensor in checkpoint.state_dict.items():
        if new_classes and name.startswith("classifier."):
            skipped.setdefault(new_spec, []).append(name)
        elif name in state and state[name].shape == tensor.shape:
            tensors[name] = tensor
        else:
            skipped.setdefault("not in this network, or of another shape", []).append(name)
    notes = []
    if theirs.input_scale != ours.input_scale:
        notes.append(
            f"the file's g saw images scaled by {theirs.input_scale}, this one {ours.input_scale}: "
            "objects start at another apparent size"
        )
    kept = "not in the file: they keep their initialisation"
    return _apply(model, path, "checkpoint", tensors, skipped, kept, notes)


def _from_torchvision(model: SegmentationNet, path: Path, data: dict) -> InitSummary:
    """torchvision's ``features.0-11`` into g's encoder; the decoder and classifier keep their init."""
    if model.config.width != 1.0:
        raise EngineError(
            f"{path}: torchvision's mobilenet_v3_small weights fit an encoder of width 1.0, not "
            f"{model.config.width}; build g with width 1.0 (train_seg --width 1.0)"
        )
    if any(name.startswith("features.13.") for name in data):
        raise EngineError(
            f"{path} has more feature layers than mobilenet_v3_small (features.13 and on: "
            f"mobilenet_v3_large or another backbone); g's encoder is MobileNetV3-Small: {ACCEPTED}"
        )
    state = model.state_dict()
    names = _torchvision_names(model)
    tensors, missing, counters = {}, [], []
    for ours, theirs in names.items():
        if theirs not in data:  # older files may lack batch norm's step counters, which nothing needs
            (counters if ours.endswith("num_batches_tracked") else missing).append(ours)
            continue
        tensor = data[theirs]
        if not isinstance(tensor, torch.Tensor) or tensor.shape != state[ours].shape:
            shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise EngineError(
                f"{path}: {theirs} is {shape}, but g's {ours} is {tuple(state[ours].shape)}; {ACCEPTED}"
            )
        if ours.endswith("running_var"):  # same normalisation with our eps: var + eps_tv = var' + eps_ours
            eps = model.get_submodule(ours.rsplit(".", 1)[0]).eps
            tensor = tensor + (TORCHVISION_BN_EPS - eps)
        tensors[ours] = tensor
    if missing:
        first = names[missing[0]]
        raise EngineError(f"{path} lacks {len(missing)} encoder tensors (first: {first}); {ACCEPTED}")
    mapped = set(names.values())
    unused = [name for name in data if name not in mapped]
    unknown = [name for name in unused if not name.startswith(TORCHVISION_UNUSED)]
    if unknown:
        raise EngineError(f"{path} has tensors mobilenet_v3_small has not (first: {unknown[0]}); {ACCEPTED}")
    skipped = {
        "torchvision's last 1x1 convolution and ImageNet classifier, which g has not": unused,
        "batch norm step counters: not in the file, unused in training": counters,
    }
    notes = [
        f"batch norm: torchvision's eps {TORCHVISION_BN_EPS:g} folded into the running variances, so the "
        "encoder computes torchvision's features"
    ]
    kept = "g's decoder and classifier: not in ImageNet weights, they keep their initialisation"
    return _apply(model, path, "torchvision", tensors, skipped, kept, notes)


def _apply(
    model: SegmentationNet,
    path: Path,
    kind: str,
    tensors: dict[str, torch.Tensor],
    skipped: dict[str, list[str]],
    kept: str,
    notes: list[str],
) -> InitSummary:
    """Copy ``tensors`` (g's names) into the model; g's other tensors are listed under ``kept``."""
    state = model.state_dict()  # shares storage with the parameters and buffers
    with torch.no_grad():
        for name, tensor in tensors.items():
            state[name].copy_(tensor)
    listed = {name for names in skipped.values() for name in names}
    untouched = [name for name in state if name not in tensors and name not in listed]
    if untouched:
        skipped[kept] = untouched
    return InitSummary(
        path=path,
        kind=kind,
        loaded=tuple(tensors),
        skipped={reason: tuple(names) for reason, names in skipped.items() if names},
        notes=tuple(notes),
    )
