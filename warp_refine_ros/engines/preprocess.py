"""What every network backend shares: input checks, normalisation, resizing and the engine steps.

PyTorch, ONNX Runtime and TensorRT engines differ only in how they run a network on batched
float32 arrays; :class:`NetworkSegmentation`, :class:`NetworkRefiner` and :class:`NetworkMotion`
turn the protocol calls of :mod:`warp_refine_ros.engines.base` into those arrays and back, so
every backend prepares images and resizes outputs with the same code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import cv2
import numpy as np

from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec


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
        except (KeyError, TypeError, ValueError):
            raise EngineError(
                f"{source}: normalisation {data!r} is not {{mean: [r, g, b], std: [r, g, b]}}"
            ) from None

    def scale_offset(self) -> tuple[np.ndarray, np.ndarray]:
        """``x = pixel * scale + offset`` per channel, float32: the same maths as one multiply-add."""
        std = np.asarray(self.std, dtype=np.float64)
        scale = 1.0 / (255.0 * std)
        offset = -np.asarray(self.mean, dtype=np.float64) / std
        return scale.astype(np.float32), offset.astype(np.float32)


IMAGENET = Normalization((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
PIXELS = Normalization((0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255))  # raw 0..255 values (e.g. RAFT)


def check_image(image: object, *, name: str = "image") -> np.ndarray:
    """An engine input must be an (H, W, 3) uint8 RGB array; anything else is an EngineError."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"{image.shape} {image.dtype}" if isinstance(image, np.ndarray) else type(image).__name__
        raise EngineError(f"{name}: expected an (H, W, 3) uint8 RGB image, got {got}")
    return image


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(h, w) of an image resized by ``scale``, at least one pixel each way."""
    return max(1, round(height * scale)), max(1, round(width * scale))


def image_tensor(
    image: np.ndarray, normalization: Normalization, *, size: tuple[int, int] | None = None
) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> normalised float32 (1, 3, h, w), resized to ``size`` = (h, w) if given."""
    if size is not None and size != image.shape[:2]:
        shrink = size[0] < image.shape[0]
        image = cv2.resize(
            image, (size[1], size[0]), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        )
    scale, offset = normalization.scale_offset()
    batch = np.empty((1, 3, *image.shape[:2]), dtype=np.float32)
    for channel, plane in enumerate(cv2.split(image)):  # one contiguous plane at a time
        out = batch[0, channel]
        out[...] = plane
        out *= scale[channel]
        out += offset[channel]
    return batch


def channels_last(planes: np.ndarray) -> np.ndarray:
    """(C, H, W) network output -> contiguous (H, W, C) float32, the layout of probability maps.

    A blocked 2-D transpose in OpenCV; numpy's strided copy of the same costs a few times more."""
    planes = np.ascontiguousarray(planes, dtype=np.float32)
    count, height, width = planes.shape
    return cv2.transpose(planes.reshape(count, height * width)).reshape(height, width, count)


def one_hot_planes(channels: np.ndarray, num_classes: int) -> np.ndarray:
    """Channel indices (H, W) uint8 -> one-hot planes (C, H, W) float32, the layout networks take.

    Indices outside 0..C-1 (NO_CLASS, where no class had mass) get all zeros."""
    classes = np.arange(num_classes, dtype=np.uint8)[:, None, None]
    return (channels[None] == classes).astype(np.float32)


def resize_planes(planes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinearly resize (C, h, w) float32 planes to (C, H, W); a convex blend, so probabilities stay so."""
    if planes.shape[1:] == (height, width):
        return np.ascontiguousarray(planes, dtype=np.float32)
    out = np.empty((planes.shape[0], height, width), dtype=np.float32)
    for plane, dst in zip(planes, out, strict=True):
        cv2.resize(plane, (width, height), dst=dst, interpolation=cv2.INTER_LINEAR)
    return out


def parse_device(device: str) -> tuple[str, int]:
    """``cpu``, ``cuda`` or ``cuda:N`` -> (kind, index)."""
    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return "cpu", 0
    if kind == "cuda" and (not index or index.isdigit()):
        return "cuda", int(index or 0)
    raise EngineError(f"unknown device {device!r}; use cpu, cuda or cuda:N")


class NetworkSegmentation(ABC):
    """g as an engine: image -> normalised, resized batch -> network -> probabilities at image size."""

    name: str
    spec: LabelSpec
    normalization: Normalization
    input_scale: float

    def segment(self, image: np.ndarray) -> Segmentation:
        """Class probabilities (at the network's resolution, upsampled on use) and features (D, h, w)."""
        height, width = check_image(image).shape[:2]
        batch = image_tensor(image, self.normalization, size=scaled_size(height, width, self.input_scale))
        probabilities, features = self._infer(batch)  # (1, C, h', w'), (1, D, h'', w'')
        if probabilities.shape[1] != self.spec.num_classes:
            raise EngineError(
                f"{self.name}: the network gives {probabilities.shape[1]} classes "
                f"but its spec has {self.spec.num_classes}"
            )
        return Segmentation(
            channels_last(probabilities[0]),
            np.ascontiguousarray(features[0], dtype=np.float32),
            (height, width),
        )

    @abstractmethod
    def _infer(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on a (1, 3, h, w) batch: (probabilities (1, C, ., .), features (1, D, ., .))."""


class NetworkRefiner(ABC):
    """Omega as an engine: channel indices, image and features -> refined probabilities (H, W, C)."""

    name: str
    spec: LabelSpec
    normalization: Normalization
    feature_channels: int  # D the network expects; 0 = it takes no features

    def refine(self, channels: np.ndarray, image: np.ndarray, features: np.ndarray | None) -> np.ndarray:
        """Refined probabilities (H, W, C) from the labels' channel indices (H, W) uint8 and the image."""
        height, width = check_image(image).shape[:2]
        _check_channels(channels, (height, width), self.name)
        batch_features = None
        if self.feature_channels:
            if features is None or features.ndim != 3 or features.shape[0] != self.feature_channels:
                got = "none" if features is None else str(features.shape)
                raise EngineError(
                    f"{self.name}: needs ({self.feature_channels}, h, w) segmentation features, got {got}; "
                    "pair it with the segmentation network it was trained with"
                )
            batch_features = np.ascontiguousarray(features[None], dtype=np.float32)
        probabilities = self._infer(
            one_hot_planes(channels, self.spec.num_classes)[None],
            image_tensor(image, self.normalization),
            batch_features,
        )
        return channels_last(resize_planes(probabilities[0], height, width))

    @abstractmethod
    def _infer(self, labels: np.ndarray, image: np.ndarray, features: np.ndarray | None) -> np.ndarray:
        """Run the network on (1, C, H, W), (1, 3, H, W), (1, D, h, w) | None: probabilities (1, C, H, W)."""


def _check_channels(channels: object, size: tuple[int, int], engine: str) -> None:
    if isinstance(channels, np.ndarray) and channels.shape == size and channels.dtype == np.uint8:
        return
    got = type(channels).__name__
    if isinstance(channels, np.ndarray):
        got = f"{channels.dtype} {channels.shape}"
    raise EngineError(f"{engine}: labels must be uint8 channel indices {size}, got {got}")


class NetworkMotion(ABC):
    """A learned flow network as an engine: two RGB frames -> backward flow (H, W, 2).

    Networks with a fixed input size get both frames resized to it and the flow scaled back;
    others get them padded (edge-replicated) to a multiple of ``pad_multiple`` and the flow cropped.
    """

    name: str
    normalization: Normalization
    input_size: tuple[int, int] | None  # (h, w) the network was built for, or None for any size
    pad_multiple: int

    def flow(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Backward flow (H, W, 2) float32: ``image(x) ~ reference(x + flow(x))``."""
        height, width = check_image(image).shape[:2]
        if check_image(reference, name="reference").shape != image.shape:
            raise EngineError(
                f"{self.name}: image {image.shape} and reference {reference.shape} differ in size"
            )
        if self.input_size is not None:
            size = self.input_size
            flow = self._infer(
                *(image_tensor(im, self.normalization, size=size) for im in (image, reference))
            )
            flow = resize_planes(flow[0], height, width)
            flow[0] *= width / size[1]
            flow[1] *= height / size[0]
        else:
            pad_h, pad_w = -height % self.pad_multiple, -width % self.pad_multiple
            batches = [
                np.pad(
                    image_tensor(im, self.normalization),
                    ((0, 0), (0, 0), (0, pad_h), (0, pad_w)),
                    mode="edge",
                )
                for im in (image, reference)
            ]
            flow = self._infer(*batches)[0, :, :height, :width]
        return np.ascontiguousarray(flow.transpose(1, 2, 0), dtype=np.float32)

    @abstractmethod
    def _infer(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Run the network on two (1, 3, h, w) batches: flow (1, 2, h, w) in pixels (dx, dy)."""
