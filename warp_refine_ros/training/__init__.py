"""Training of the segmentation network g and the refiner Omega, and datasets over labeled frames.

Importing this package does not import torch; the names below load their module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from warp_refine_ros.training.augment import Augmentation
    from warp_refine_ros.training.cycles import cycles_by_length
    from warp_refine_ros.training.data import AutoLabeledDataset, SegmentationDataset
    from warp_refine_ros.training.losses import cycle_loss
    from warp_refine_ros.training.sampler import MixedSampler
    from warp_refine_ros.training.sources import LabeledImage

_MODULES = {
    "Augmentation": "augment",
    "AutoLabeledDataset": "data",
    "LabeledImage": "sources",
    "MixedSampler": "sampler",
    "SegmentationDataset": "data",
    "cycle_loss": "losses",
    "cycles_by_length": "cycles",
}

__all__ = [
    "Augmentation",
    "AutoLabeledDataset",
    "LabeledImage",
    "MixedSampler",
    "SegmentationDataset",
    "cycle_loss",
    "cycles_by_length",
]


def __getattr__(name: str) -> Any:
    """Import the defining module of a public name when it is first asked for."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
