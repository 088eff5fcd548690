"""The model contract between the networks that export models and the engines that run them.

Input normalisation, tensor names and the metadata an exported network carries besides its weights;
no torch needed. ONNX files keep the metadata in ``metadata_props`` (string -> string) under
``warp_refine_ros.*`` keys; TensorRT sidecars copy the same mapping. The tensor contract of each
architecture:

``segmentation``  image (B, 3, H, W) normalised  ->  probabilities (B, C, H/4, W/4), features (B, D, H/8, W/8)
``refiner``       labels (B, C, H, W) one-hot of the warped labels, trust (B, 1, H, W) 0/1, segmentation
                  (B, C, h, w) g's probabilities, image (B, 3, H, W) normalised  ->  probabilities
                  (B, C, H, W), for any C (class-agnostic; its spec is the one it was trained with)
``motion``        image, reference (B, 3, H, W) normalised  ->  flow (B, 2, H, W) backward, in pixels

Engines run the segmentation network on the image resized by ``input_scale`` and resize its
probabilities back to the image; a motion network needs no metadata (raw 0..255 pixels then).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warp_refine_ros.errors import EngineError, LabelError
from warp_refine_ros.labels import LabelSpec

FORMAT = "warp_refine_ros/onnx"
VERSION = 1
PREFIX = "warp_refine_ros."
ARCHS = ("segmentation", "refiner", "motion")

INPUTS = {
    "segmentation": ("image",),
    "refiner": ("labels", "trust", "segmentation", "image"),
    "motion": ("image", "reference"),
}
OUTPUTS = {
    "segmentation": ("probabilities", "features"),
    "refiner": ("probabilities",),
    "motion": ("flow",),
}


@dataclass(frozen=True)
class Normalization:
    """Per-channel RGB normalisation of images in [0, 1]: ``x = (pixel / 255 - mean) / std``."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __post_init__(self) -> None:
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise EngineError(
                f"normalisation needs 3 means and 3 positive stds (RGB), got mean={self.mean} std={self.std}"
            )

    def to_dict(self) -> dict[str, list[float]]:
        """``{"mean": [r, g, b], "std": [r, g, b]}`` for checkpoints and ONNX metadata."""
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, data: object, *, source: str) -> Normalization:
        """Read ``{"mean": [r, g, b], "std": [r, g, b]}`` as stored in checkpoints and ONNX metadata."""
        try:
            return cls(tuple(float(v) for v in data["mean"]), tuple(float(v) for v in data["std"]))  # type: ignore[index]
        except (KeyError, TypeError, ValueError) as err:
            raise EngineError(
                f"{source}: normalisation {data!r} is not {{mean: [r, g, b], std: [r, g, b]}}"
            ) from err

    def scale_offset(self) -> tuple[np.ndarray, np.ndarray]:
        """``x = pixel * scale + offset`` per channel, float32: the same maths as one multiply-add."""
        std = np.asarray(self.std, dtype=np.float64)
        scale = 1.0 / (255.0 * std)
        offset = -np.asarray(self.mean, dtype=np.float64) / std
        return scale.astype(np.float32), offset.astype(np.float32)


IMAGENET = Normalization((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
PIXELS = Normalization((0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255))  # raw 0..255 values (e.g. RAFT)


REFINER_VERSION = 2  # networks/refiner.py's VERSION; this module needs no torch


def check_refiner_config(config: Mapping[str, Any], source: str) -> None:
    """EngineError naming ``source`` for a refiner of an earlier release (version 1 took g's features and
    one class spec; this release's Omega is class-agnostic and takes g's probabilities)."""
    if config.get("version") != REFINER_VERSION:
        raise EngineError(
            f"{source} is a refiner of an earlier release (per class spec, on g's features), which this "
            "release does not run: retrain it with adapt_labeler or train_refiner (start from the "
            "shipped models/refiner.pt), or use --method warp-inpaint"
        )


@dataclass(frozen=True)
class ModelMetadata:
    """Architecture, hyper-parameters, class spec and input normalisation of an exported network."""

    arch: str
    normalization: Normalization
    spec: LabelSpec | None = None  # required for segmentation and refiner
    config: dict[str, Any] = field(default_factory=dict)
    input_scale: float = 1.0  # engines feed the network the image resized by this factor

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise EngineError(
                f"unknown network architecture {self.arch!r}; expected one of {', '.join(ARCHS)}"
            )
        if self.arch != "motion" and self.spec is None:
            raise EngineError(f"a {self.arch} network needs a class spec in its metadata")
        if not 0 < self.input_scale <= 1:
            raise EngineError(f"input_scale must be in (0, 1], got {self.input_scale}")

    @property
    def inputs(self) -> tuple[str, ...]:
        """Input tensor names, in the network's argument order."""
        return INPUTS[self.arch]

    @property
    def outputs(self) -> tuple[str, ...]:
        """Output tensor names, in order."""
        return OUTPUTS[self.arch]

    def to_props(self) -> dict[str, str]:
        """String key/value pairs for ONNX ``metadata_props`` or a JSON sidecar."""
        props = {
            "format": FORMAT,
            "version": str(VERSION),
            "arch": self.arch,
            "config": json.dumps(self.config, sort_keys=True),
            "normalization": json.dumps(self.normalization.to_dict()),
            "input_scale": repr(float(self.input_scale)),
        }
        if self.spec is not None:
            props["spec"] = json.dumps(self.spec.to_dict())
        return {PREFIX + key: value for key, value in props.items()}

    @classmethod
    def from_props(cls, props: Mapping[str, str], *, source: str) -> ModelMetadata:
        """Parse :meth:`to_props` output; EngineError naming ``source`` if it is missing or malformed."""
        ours = {key[len(PREFIX) :]: value for key, value in props.items() if key.startswith(PREFIX)}
        if ours.get("format") != FORMAT:
            raise EngineError(
                f"{source} has no warp_refine_ros metadata; export it with "
                "warp_refine_ros.networks.export_onnx (or train_seg / train_refiner)"
            )
        if ours.get("version") != str(VERSION):
            raise EngineError(
                f"{source}: metadata version {ours.get('version')} is not supported "
                f"(this package reads version {VERSION})"
            )
        try:
            config = json.loads(ours.get("config", "{}"))
            if ours.get("arch") == "refiner":
                check_refiner_config(config, source)
            normalization = Normalization.from_dict(json.loads(ours["normalization"]), source=source)
            spec = LabelSpec.from_dict(json.loads(ours["spec"])) if "spec" in ours else None
            return cls(
                arch=ours.get("arch", ""),
                normalization=normalization,
                spec=spec,
                config=config,
                input_scale=float(ours.get("input_scale", "1.0")),
            )
        except (KeyError, ValueError, LabelError) as err:  # json.JSONDecodeError is a ValueError
            raise EngineError(f"{source}: malformed warp_refine_ros metadata ({err})") from err
        except EngineError as err:
            raise EngineError(f"{source}: {err}") from err

    @classmethod
    def for_motion(cls, props: Mapping[str, str], *, source: str) -> ModelMetadata:
        """Metadata of a motion network: ours if present, else raw 0..255 pixel inputs."""
        if not any(key.startswith(PREFIX) for key in props):
            return cls(arch="motion", normalization=PIXELS)
        return cls.from_props(props, source=source)


def read_onnx_metadata(path: str | Path) -> ModelMetadata:
    """The :class:`ModelMetadata` stored in an ONNX file's ``metadata_props``."""
    import onnx
    from google.protobuf.message import DecodeError

    path = Path(path)
    if not path.is_file():
        raise EngineError(f"ONNX file {path} does not exist")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError) as err:
        raise EngineError(f"{path} is not a readable ONNX model: {err}") from err
    return ModelMetadata.from_props({p.key: p.value for p in model.metadata_props}, source=str(path))
