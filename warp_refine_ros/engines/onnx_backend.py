"""ONNX Runtime engines: the CPU default for the networks, and GPUs through TensorRT or CUDA providers.

``device="cpu"`` runs on the CPU provider only; ``cuda`` / ``cuda:N`` prefers TensorRT, then CUDA,
among the providers this onnxruntime build has (CPU stays last, for any node they cannot run).
TensorRT builds are cached on disk and use fp16. Intra-op threads are left to ONNX Runtime.
Class spec and normalisation come from the file's ``metadata_props`` (written by ``export_onnx``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from warp_refine_ros.engines.devices import parse_device
from warp_refine_ros.engines.network_backend import NetworkMotion, NetworkRefiner, NetworkSegmentation
from warp_refine_ros.errors import EngineError
from warp_refine_ros.modelcard import check_against_card
from warp_refine_ros.modelspec import ModelMetadata

ORT_ERRORS = (
    ort_state.Fail,
    ort_state.InvalidArgument,
    ort_state.InvalidGraph,
    ort_state.InvalidProtobuf,
    ort_state.NoModel,
    ort_state.NoSuchFile,
    ort_state.NotImplemented,
    ort_state.RuntimeException,
    ort_state.EPFail,
)
Provider = str | tuple[str, dict[str, Any]]


def default_trt_cache() -> Path:
    """Where ONNX Runtime's TensorRT provider keeps built engines: the user's cache directory."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "warp_refine_ros" / "onnxruntime-tensorrt"


def execution_providers(
    device: str,
    *,
    available: list[str] | None = None,
    trt_cache: str | Path | None = None,
    fp16: bool = True,
) -> list[Provider]:
    """Providers for ``device``, best first: TensorRT -> CUDA -> CPU on ``cuda``, CPU alone on ``cpu``.

    Choosing TensorRT creates its engine cache folder (``trt_cache``, default :func:`default_trt_cache`).
    """
    kind, index = parse_device(device)
    if kind == "cpu":
        return ["CPUExecutionProvider"]
    available = ort.get_available_providers() if available is None else available
    providers: list[Provider] = []
    if "TensorrtExecutionProvider" in available:
        cache = Path(trt_cache or default_trt_cache())
        cache.mkdir(parents=True, exist_ok=True)
        options = {
            "device_id": index,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_fp16_enable": fp16,
        }
        providers.append(("TensorrtExecutionProvider", options))
    if "CUDAExecutionProvider" in available:
        providers.append(("CUDAExecutionProvider", {"device_id": index}))
    if not providers:
        raise EngineError(
            f"device {device!r} asked for, but onnxruntime has no TensorRT or CUDA provider "
            f"(available: {', '.join(available)}); install onnxruntime-gpu or use --device cpu"
        )
    return [*providers, "CPUExecutionProvider"]


def session_options() -> ort.SessionOptions:
    """Session options for sharing the CPU: the labeler runs engines beside its own arithmetic and
    writer threads, so ONNX Runtime's threads must sleep between runs instead of spinning (spinning
    burned about as much CPU as the networks themselves)."""
    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


class OnnxModel:
    """An ONNX Runtime session on one of our networks, with its metadata and checked tensors."""

    def __init__(self, path: str | Path, arch: str, device: str) -> None:
        path = Path(path)
        if not path.is_file():
            raise EngineError(f"{arch} ONNX file {path} does not exist")
        check_against_card(path)
        providers = execution_providers(device)
        try:
            self.session = ort.InferenceSession(str(path), session_options(), providers=providers)
        except ORT_ERRORS as err:
            raise EngineError(f"{path}: ONNX Runtime cannot load it: {err}") from err
        if len(providers) > 1 and self.session.get_providers() == ["CPUExecutionProvider"]:
            raise EngineError(
                f"{path}: ONNX Runtime could not start its GPU providers for {device!r} (see its log); "
                "check the CUDA/cuDNN/TensorRT install or use --device cpu"
            )
        props = self.session.get_modelmeta().custom_metadata_map
        if arch == "motion":
            self.metadata = ModelMetadata.for_motion(props, source=str(path))
        else:
            self.metadata = ModelMetadata.from_props(props, source=str(path))
        if self.metadata.arch != arch:
            raise EngineError(
                f"{path} is a {self.metadata.arch} network, but a {arch} network is needed here"
            )
        self.path = path
        self.name = f"onnx:{path.name}@{self.session.get_providers()[0]}"
        self.input_shapes = self._check_tensors()

    def _check_tensors(self) -> dict[str, list[int | str | None]]:
        """Input names, types and ranks as the metadata says; returns each input's shape."""
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = [o.name for o in self.session.get_outputs()]
        expected = self.metadata.inputs
        if sorted(inputs) != sorted(expected) or not set(self.metadata.outputs) <= set(outputs):
            raise EngineError(
                f"{self.path}: a {self.metadata.arch} network needs inputs {list(expected)} and outputs "
                f"{list(self.metadata.outputs)}, this one has inputs {list(inputs)} and outputs {outputs}"
            )
        for name, tensor in inputs.items():
            if tensor.type != "tensor(float)" or len(tensor.shape) != 4:
                raise EngineError(
                    f"{self.path}: input {name!r} is {tensor.type} {tensor.shape}; "
                    "expected a 4-D float32 (B, channels, height, width) tensor"
                )
        return {name: list(tensor.shape) for name, tensor in inputs.items()}

    def check_channels(self, name: str, channels: int) -> None:
        """EngineError unless input ``name`` has ``channels`` channels (or a dynamic channel axis)."""
        found = self.input_shapes[name][1]
        if isinstance(found, int) and found != channels:
            raise EngineError(f"{self.path}: input {name!r} has {found} channels, expected {channels}")

    def fixed_size(self, name: str) -> tuple[int, int] | None:
        """(H, W) of an input built for one size, or None when its spatial axes are dynamic."""
        height, width = self.input_shapes[name][2:]
        if isinstance(height, int) and isinstance(width, int):
            return height, width
        return None

    def require_dynamic_size(self, name: str) -> None:
        """EngineError if input ``name`` only accepts one image size (engines feed any camera size)."""
        if self.fixed_size(name) is not None:
            raise EngineError(
                f"{self.path}: input {name!r} has the fixed shape {self.input_shapes[name]}; "
                "export it with dynamic height and width (export_onnx does)"
            )

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The metadata's outputs, in order, for these named inputs."""
        return self.session.run(list(self.metadata.outputs), feeds)


class OnnxSegmentation(NetworkSegmentation):
    """The segmentation engine g from an .onnx file exported by ``export_onnx``."""

    def __init__(self, path: str | Path, *, device: str = "cpu") -> None:
        self._model = OnnxModel(path, "segmentation", device)
        metadata = self._model.metadata
        self._model.check_channels("image", 3)
        self._model.require_dynamic_size("image")
        self.name = self._model.name
        self.spec = metadata.spec
        self.normalization = metadata.normalization
        self.input_scale = metadata.input_scale

    def _infer(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        probabilities, features = self._model.run({"image": image})
        return probabilities, features


class OnnxRefiner(NetworkRefiner):
    """The refiner engine Omega from an .onnx file exported by ``export_onnx``."""

    def __init__(self, path: str | Path, *, device: str = "cpu") -> None:
        self._model = OnnxModel(path, "refiner", device)
        metadata = self._model.metadata
        self._model.check_channels("trust", 1)
        self._model.check_channels("image", 3)
        for name in self._model.metadata.inputs:  # g's grid follows the camera size too
            self._model.require_dynamic_size(name)
        self.name = self._model.name
        self.normalization = metadata.normalization
        self.max_pixels = int(metadata.config["max_pixels"])

    def _infer(
        self, labels: np.ndarray, trust: np.ndarray, segmentation: np.ndarray, image: np.ndarray
    ) -> np.ndarray:
        feeds = {"labels": labels, "trust": trust, "segmentation": segmentation, "image": image}
        return self._model.run(feeds)[0]


class OnnxMotion(NetworkMotion):
    """A learned motion engine f (e.g. RAFT) from an .onnx file.

    Contract: inputs ``image`` and ``reference`` (1, 3, H, W) float32 RGB, output ``flow`` (1, 2, H, W):
    pixel x of ``image`` is found at x + flow(x) in ``reference``. Without warp_refine_ros metadata the
    inputs are raw 0..255 values; ``config.pad_multiple`` (default 8) pads dynamic-size inputs.
    """

    def __init__(self, path: str | Path, *, device: str = "cpu") -> None:
        self._model = OnnxModel(path, "motion", device)
        metadata = self._model.metadata
        for name in ("image", "reference"):
            self._model.check_channels(name, 3)
        self.input_size = self._model.fixed_size("image")
        if self.input_size != self._model.fixed_size("reference"):
            raise EngineError(f"{self._model.path}: inputs 'image' and 'reference' have different shapes")
        self.pad_multiple = int(metadata.config.get("pad_multiple", 8))
        self.name = self._model.name
        self.normalization = metadata.normalization

    def _infer(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        flow = self._model.run({"image": image, "reference": reference})[0]
        if flow.ndim != 4 or flow.shape[1] != 2:
            raise EngineError(f"{self._model.path}: output 'flow' is {flow.shape}, expected (1, 2, H, W)")
        return flow
