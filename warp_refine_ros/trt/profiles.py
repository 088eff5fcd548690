"""Optimisation profiles: the input shapes an engine accepts, derived from the camera sizes it serves.

Engines see camera images after the same preparation the engines apply (see
:mod:`warp_refine_ros.engines.network_backend`): the segmentation network gets the image resized by its
``input_scale``, the refiner labels, trust and image at its working size (shrunk to its ``max_pixels``)
plus g's probabilities (1/4 of the segmentation input) over the classes present in a frame, from one to
all of the spec's, and a motion network both frames padded to a multiple of its ``pad_multiple``.
Batch is always 1: the propagation labels one frame at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from warp_refine_ros.engines.preprocess import scaled_size, working_size
from warp_refine_ros.errors import EngineError, UsageError
from warp_refine_ros.modelspec import ModelMetadata

Size = tuple[int, int]  # (H, W)
Shape = tuple[int, ...]
Profile = dict[str, tuple[Shape, Shape, Shape]]  # input name -> (min, opt, max)


def parse_size(text: str) -> Size:
    """``"1920x1080"`` (width x height, as cameras are described) -> (1080, 1920)."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 1 or int(height) < 1:
        raise UsageError(f"image size {text!r} is not WIDTHxHEIGHT, e.g. 1920x1080")
    return int(height), int(width)


def format_size(size: Size) -> str:
    """(H, W) -> ``"WxH"``."""
    return f"{size[1]}x{size[0]}"


@dataclass(frozen=True)
class CameraSizes:
    """Smallest, typical and largest camera image (H, W) an engine set must handle."""

    min: Size
    opt: Size
    max: Size

    def __post_init__(self) -> None:
        for axis in (0, 1):
            if not 0 < self.min[axis] <= self.opt[axis] <= self.max[axis]:
                raise EngineError(
                    f"camera sizes must satisfy min <= opt <= max on each axis, got min "
                    f"{format_size(self.min)}, opt {format_size(self.opt)}, max {format_size(self.max)}"
                )

    def clamp(self, size: Size) -> Size:
        """``size`` moved inside [min, max] on each axis."""
        return (
            min(max(size[0], self.min[0]), self.max[0]),
            min(max(size[1], self.min[1]), self.max[1]),
        )


def probability_size(size: Size, segmentation_scale: float) -> Size:
    """(h, w) of g's probabilities, which the refiner takes, for a camera image of ``size``: 1/4 of g's
    input."""
    height, width = scaled_size(*size, segmentation_scale)
    return -(-height // 4), -(-width // 4)


def padded_size(size: Size, multiple: int) -> Size:
    """``size`` rounded up to a multiple of ``multiple`` (how motion engines pad frames)."""
    return -(-size[0] // multiple) * multiple, -(-size[1] // multiple) * multiple


def input_shapes(
    metadata: ModelMetadata, size: Size, *, segmentation_scale: float | None = None
) -> dict[str, Shape]:
    """The shape of each input of a network for one camera image ``size``.

    ``segmentation_scale`` is the ``input_scale`` of the segmentation network whose probabilities a
    refiner takes; unknown (None), they are assumed at full scale.
    """
    if metadata.arch == "segmentation":
        return {"image": (1, 3, *scaled_size(*size, metadata.input_scale))}
    if metadata.arch == "motion":
        padded = padded_size(size, int(metadata.config.get("pad_multiple", 8)))
        return {"image": (1, 3, *padded), "reference": (1, 3, *padded)}
    classes = metadata.spec.num_classes  # the spec Omega was trained with; it runs with any
    working = working_size(*size, int(metadata.config["max_pixels"]))
    return {
        "labels": (1, classes, *working),
        "trust": (1, 1, *working),
        "segmentation": (1, classes, *probability_size(size, segmentation_scale or 1.0)),
        "image": (1, 3, *working),
    }


def input_profile(
    metadata: ModelMetadata, sizes: CameraSizes, *, segmentation_scale: float | None = None
) -> Profile:
    """(min, opt, max) shape of each input for camera images between ``sizes.min`` and ``sizes.max``.

    A refiner built without knowing its segmentation network accepts g's probabilities from 1x1 up, so
    any ``input_scale`` fits; given ``segmentation_scale``, the range is exact.
    """
    low, opt, high = (
        input_shapes(metadata, size, segmentation_scale=segmentation_scale)
        for size in (sizes.min, sizes.opt, sizes.max)
    )
    if metadata.arch == "refiner":  # Omega runs on the classes present in a frame: one up to all
        low["labels"] = (1, 1, *low["labels"][2:])
        low["segmentation"] = (1, 1, *low["segmentation"][2:])
        if segmentation_scale is None:
            low["segmentation"] = (1, 1, 1, 1)
    return {name: (low[name], opt[name], high[name]) for name in metadata.inputs}
