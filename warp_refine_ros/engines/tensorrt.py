"""TensorRT engines: ``.engine``/``.plan`` files from build_engines, run with TensorRT 10's tensor API.

Each engine gets one execution context and its own CUDA stream; inputs are bound by name
(``set_input_shape``, ``set_tensor_address``) and run with ``execute_async_v3``. Buffers are torch
CUDA tensors, and the tensor-level methods (:meth:`TensorRTSegmentation.segment_tensor`,
:meth:`TensorRTRefiner.refine_tensor`, :meth:`TensorRTMotion.flow_tensor`) take and return them,
so a GPU pipeline hands g's probabilities to Omega without a host copy::

    frame = torch.from_numpy(rgb).to("cuda")  # the one upload, (H, W, 3) uint8
    probabilities, _ = seg.segment_tensor(image_batch(frame, seg.normalization, size=(h, w)))
    refined = refiner.refine_tensor(labels, trust, probabilities, image_batch(frame, refiner.normalization))

The protocol methods (``segment``/``refine``/``flow``) wrap them for the numpy propagation.
Every engine is checked against its JSON sidecar (:mod:`warp_refine_ros.engines.sidecar`) before
TensorRT deserializes it. TensorRT and CUDA are touched only when an engine is loaded, so this
module imports on machines without them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from warp_refine_ros.engines.devices import parse_device, torch_device
from warp_refine_ros.engines.network_backend import NetworkMotion, NetworkRefiner, NetworkSegmentation
from warp_refine_ros.engines.sidecar import (
    Environment,
    TensorSpec,
    check_compatible,
    read_sidecar,
    sidecar_path,
)
from warp_refine_ros.errors import EngineError
from warp_refine_ros.modelspec import Normalization


def import_tensorrt() -> ModuleType:
    """The ``tensorrt`` module, or an EngineError saying how to install it."""
    try:
        import tensorrt
    except ImportError as err:
        raise EngineError(
            f"TensorRT is not installed ({err}); on a machine with an NVIDIA GPU run "
            "pip install 'warp_refine_ros[tensorrt]', or use the .onnx engines instead"
        ) from err
    return tensorrt


@functools.cache
def trt_logger(trt: ModuleType) -> Any:
    """One TensorRT logger per process (TensorRT wants a single logger shared by its objects)."""
    return trt.Logger(trt.Logger.WARNING)


def cuda_device(device: str) -> torch.device:
    """``cuda`` / ``cuda:N`` as a visible torch device; TensorRT has no CPU mode."""
    kind, _ = parse_device(device)
    if kind == "cpu":
        raise EngineError("TensorRT engines run on an NVIDIA GPU: use --device cuda, or the .onnx engines")
    if not torch.cuda.is_available():
        raise EngineError(
            f"device {device!r}: torch {torch.__version__} sees no CUDA GPU (a CPU build of torch, or no "
            "NVIDIA driver); TensorRT engines need one. Elsewhere, use the .onnx engines"
        )
    return torch_device(device)


def current_environment(device: torch.device) -> Environment:
    """The TensorRT version, CUDA version and GPU model of ``device``, as a sidecar records them."""
    trt = import_tensorrt()
    props = torch.cuda.get_device_properties(device)
    return Environment(
        tensorrt=trt.__version__,
        cuda=torch.version.cuda or "unknown",
        gpu=props.name,
        compute_capability=f"{props.major}.{props.minor}",
    )


def engine_tensors(trt: ModuleType, engine: Any) -> tuple[TensorSpec, ...]:
    """Every I/O tensor of a deserialized engine: name, mode, dtype, shape and profile 0 (inputs)."""
    specs = []
    for index in range(engine.num_io_tensors):
        name = engine.get_tensor_name(index)
        is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
        profile = None
        if is_input:
            low, opt, high = engine.get_tensor_profile_shape(name, 0)
            profile = (tuple(low), tuple(opt), tuple(high))
        specs.append(
            TensorSpec(
                name=name,
                mode="input" if is_input else "output",
                dtype=np.dtype(trt.nptype(engine.get_tensor_dtype(name))).name,
                shape=tuple(engine.get_tensor_shape(name)),
                profile=profile,
            )
        )
    return tuple(specs)


def image_batch(
    image: torch.Tensor, normalization: Normalization, *, size: tuple[int, int] | None = None
) -> torch.Tensor:
    """RGB uint8 (H, W, 3) tensor -> normalised float32 (1, 3, h, w) on its device, resized to ``size``.

    The GPU counterpart of :func:`warp_refine_ros.engines.preprocess.image_tensor`; shrinking uses
    antialiased bilinear filtering where the CPU path uses OpenCV's area filter.
    """
    batch = image.permute(2, 0, 1)[None].float()  # (1, 3, H, W)
    if size is not None and tuple(size) != tuple(batch.shape[2:]):
        shrink = size[0] < batch.shape[2]
        batch = F.interpolate(batch, size=tuple(size), mode="bilinear", align_corners=False, antialias=shrink)
    scale, offset = (
        torch.as_tensor(v, device=image.device).view(1, 3, 1, 1) for v in normalization.scale_offset()
    )
    return batch * scale + offset


class TensorRTModel:
    """One engine with an execution context and a CUDA stream; runs named torch CUDA tensors."""

    def __init__(self, path: str | Path, *, arch: str, device: str = "cuda") -> None:
        path = Path(path)
        if not path.is_file():
            raise EngineError(f"{arch} engine file {path} does not exist")
        self.path = path
        self.sidecar = read_sidecar(path)
        if self.sidecar.arch != arch:
            raise EngineError(f"{path} is a {self.sidecar.arch} engine, but a {arch} engine is needed here")
        self.metadata = self.sidecar.metadata(source=str(sidecar_path(path)))
        self.precision = self.sidecar.precision
        trt = import_tensorrt()
        self.device = cuda_device(device)
        check_compatible(self.sidecar, current_environment(self.device), engine_path=path)
        with torch.cuda.device(self.device):
            self._runtime = trt.Runtime(trt_logger(trt))
            self._engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
            if self._engine is None:
                raise EngineError(
                    f"{path}: TensorRT could not deserialize it (see its log above); "
                    "rebuild it with build_engines"
                )
            self._context = self._engine.create_execution_context()
            self.stream = torch.cuda.Stream(self.device)
        self.name = f"tensorrt:{path.name}@{self.device}:{self.precision}"
        tensors = engine_tensors(trt, self._engine)
        if tensors != self.sidecar.tensors:
            raise EngineError(
                f"{sidecar_path(path)} describes other tensors than {path} holds; the engine or its sidecar "
                "was replaced: rebuild both with build_engines"
            )
        self.tensors = {spec.name: spec for spec in tensors}
        self.inputs = self.sidecar.names("input")
        self.outputs = self.sidecar.names("output")
        needs_inputs, needs_outputs = self.metadata.inputs, self.metadata.outputs
        if sorted(self.inputs) != sorted(needs_inputs) or not set(needs_outputs) <= set(self.outputs):
            raise EngineError(
                f"{path}: a {arch} engine needs inputs {list(needs_inputs)} and outputs "
                f"{list(needs_outputs)}, this one has inputs {list(self.inputs)} "
                f"and outputs {list(self.outputs)}"
            )
        self._dtypes = {name: _torch_dtype(spec.dtype) for name, spec in self.tensors.items()}
        self._lock = threading.Lock()  # one execution context: one inference at a time

    def channels(self, name: str) -> int:
        """The channel count (axis 1) input ``name`` was built for."""
        profile = self.tensors[name].profile
        return profile[0][1] if profile else self.tensors[name].shape[1]

    def fixed_size(self, name: str) -> tuple[int, int] | None:
        """(H, W) when input ``name``'s profile allows one size only, else None."""
        low, _, high = self.tensors[name].profile or (self.tensors[name].shape,) * 3
        return (low[2], low[3]) if tuple(low[2:]) == tuple(high[2:]) else None

    def run(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Outputs by name for inputs by name, all CUDA tensors; ordered after the caller's stream work."""
        missing = [name for name in self.inputs if name not in inputs]
        if missing:
            raise EngineError(f"{self.name}: missing inputs {missing}")
        with self._lock:
            caller = torch.cuda.current_stream(self.device)
            self.stream.wait_stream(caller)  # inputs written on the caller's stream are ready
            with torch.cuda.stream(self.stream):
                feeds = {name: self._bind_input(name, inputs[name]) for name in self.inputs}
                outputs = {name: self._bind_output(name) for name in self.outputs}
                if not self._context.execute_async_v3(self.stream.cuda_stream):
                    raise EngineError(f"{self.name}: TensorRT failed to run the engine (see its log above)")
            for tensor in feeds.values():
                tensor.record_stream(self.stream)  # not reused by the allocator before the engine is done
            caller.wait_stream(self.stream)  # the caller sees finished outputs, with no host sync
            for tensor in outputs.values():
                tensor.record_stream(caller)
        return outputs

    def upload(self, array: np.ndarray) -> torch.Tensor:
        """A host array on this engine's GPU."""
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def run_numpy(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """:meth:`run` for host arrays: upload, run, download as float32."""
        outputs = self.run({name: self.upload(array) for name, array in feeds.items()})
        return {name: tensor.float().cpu().numpy() for name, tensor in outputs.items()}

    def _bind_input(self, name: str, tensor: torch.Tensor) -> torch.Tensor:
        if not isinstance(tensor, torch.Tensor) or tensor.device != self.device:
            got = tensor.device if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise EngineError(
                f"{self.name}: input {name!r} must be a torch tensor on {self.device}, got {got}"
            )
        shape = tuple(tensor.shape)
        spec = self.tensors[name]
        if not spec.accepts(shape):
            low, _, high = spec.profile or (spec.shape, None, spec.shape)
            raise EngineError(
                f"{self.name}: input {name!r} of shape {shape} is outside the engine's profile "
                f"{tuple(low)}..{tuple(high)}; rebuild it with build_engines --min-size/--max-size "
                "covering this camera"
            )
        tensor = tensor.to(self._dtypes[name]).contiguous()
        if not self._context.set_input_shape(name, shape):
            raise EngineError(f"{self.name}: TensorRT refused shape {shape} for input {name!r}")
        self._context.set_tensor_address(name, tensor.data_ptr())
        return tensor

    def _bind_output(self, name: str) -> torch.Tensor:
        shape = tuple(self._context.get_tensor_shape(name))
        if any(dim < 0 for dim in shape):
            raise EngineError(
                f"{self.name}: output {name!r} has a data-dependent shape {shape}; not supported"
            )
        tensor = torch.empty(shape, dtype=self._dtypes[name], device=self.device)
        self._context.set_tensor_address(name, tensor.data_ptr())
        return tensor


class TensorRTSegmentation(NetworkSegmentation):
    """The segmentation engine g from a TensorRT engine built by build_engines."""

    def __init__(self, path: str | Path, *, device: str = "cuda") -> None:
        self.model = TensorRTModel(path, arch="segmentation", device=device)
        metadata = self.model.metadata
        _check_channels(self.model, "image", 3)
        self.name = self.model.name
        self.spec = metadata.spec
        self.normalization = metadata.normalization
        self.input_scale = metadata.input_scale

    def segment_tensor(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(1, 3, h, w) normalised CUDA batch -> probabilities (1, C, h/4, w/4), features (1, D, h/8, w/8)."""
        outputs = self.model.run({"image": image})
        return outputs["probabilities"], outputs["features"]

    def _infer(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        outputs = self.model.run_numpy({"image": image})
        return outputs["probabilities"], outputs["features"]


class TensorRTRefiner(NetworkRefiner):
    """The refiner engine Omega from a TensorRT engine built by build_engines."""

    def __init__(self, path: str | Path, *, device: str = "cuda") -> None:
        self.model = TensorRTModel(path, arch="refiner", device=device)
        metadata = self.model.metadata
        _check_channels(self.model, "trust", 1)
        _check_channels(self.model, "image", 3)
        self.name = self.model.name
        self.normalization = metadata.normalization
        self.max_pixels = int(metadata.config["max_pixels"])

    def refine_tensor(
        self, labels: torch.Tensor, trust: torch.Tensor, segmentation: torch.Tensor, image: torch.Tensor
    ) -> torch.Tensor:
        """CUDA (1, C, H, W) one-hot warped labels, (1, 1, H, W) trust, (1, C, h, w) g's probabilities and
        (1, 3, H, W) normalised image -> probabilities (1, C, H, W)."""
        feeds = {"labels": labels, "trust": trust, "segmentation": segmentation, "image": image}
        return self.model.run(feeds)["probabilities"]

    def _infer(
        self, labels: np.ndarray, trust: np.ndarray, segmentation: np.ndarray, image: np.ndarray
    ) -> np.ndarray:
        feeds = {"labels": labels, "trust": trust, "segmentation": segmentation, "image": image}
        return self.model.run_numpy(feeds)["probabilities"]


class TensorRTMotion(NetworkMotion):
    """A learned motion engine (e.g. RAFT exported by build_engines --motion) from a TensorRT engine."""

    def __init__(self, path: str | Path, *, device: str = "cuda") -> None:
        self.model = TensorRTModel(path, arch="motion", device=device)
        metadata = self.model.metadata
        for name in ("image", "reference"):
            _check_channels(self.model, name, 3)
        self.input_size = self.model.fixed_size("image")
        self.pad_multiple = int(metadata.config.get("pad_multiple", 8))
        self.name = self.model.name
        self.normalization = metadata.normalization

    def flow_tensor(self, image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Two normalised (1, 3, h, w) CUDA batches (h, w padded as the engine needs) -> flow (1, 2, h, w)."""
        return self.model.run({"image": image, "reference": reference})["flow"]

    def _infer(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        return self.model.run_numpy({"image": image, "reference": reference})["flow"]


def _check_channels(model: TensorRTModel, name: str, channels: int) -> None:
    found = model.channels(name)
    if found != channels:
        raise EngineError(f"{model.path}: input {name!r} has {found} channels, expected {channels}")


def _torch_dtype(name: str) -> torch.dtype:
    """The torch dtype of a numpy dtype name as the sidecar stores it ('float32', 'float16', ...)."""
    return torch.from_numpy(np.empty(0, dtype=np.dtype(name))).dtype
