"""PyTorch definitions of the segmentation network g and the refiner Omega, their checkpoints and export.

Importing this package does not import torch: the names below load their module on first use, so
ONNX and TensorRT deployments (which only read :mod:`warp_refine_ros.modelspec`) run without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from warp_refine_ros.modelspec import ModelMetadata, read_onnx_metadata
    from warp_refine_ros.networks.checkpoint import (
        Checkpoint,
        TrainingState,
        build_model,
        load_checkpoint,
        save_checkpoint,
    )
    from warp_refine_ros.networks.export import export_onnx
    from warp_refine_ros.networks.inference import inference_module
    from warp_refine_ros.networks.refiner import RefinerConfig, RefinerNet
    from warp_refine_ros.networks.segmentation import SegmentationConfig, SegmentationNet

_MODULES = {
    "Checkpoint": ".checkpoint",
    "TrainingState": ".checkpoint",
    "build_model": ".checkpoint",
    "load_checkpoint": ".checkpoint",
    "save_checkpoint": ".checkpoint",
    "export_onnx": ".export",
    "inference_module": ".inference",
    "ModelMetadata": "warp_refine_ros.modelspec",  # the model contract, re-exported
    "read_onnx_metadata": "warp_refine_ros.modelspec",
    "RefinerConfig": ".refiner",
    "RefinerNet": ".refiner",
    "SegmentationConfig": ".segmentation",
    "SegmentationNet": ".segmentation",
}

__all__ = [
    "Checkpoint",
    "ModelMetadata",
    "RefinerConfig",
    "RefinerNet",
    "SegmentationConfig",
    "SegmentationNet",
    "TrainingState",
    "build_model",
    "export_onnx",
    "inference_module",
    "load_checkpoint",
    "read_onnx_metadata",
    "save_checkpoint",
]


def __getattr__(name: str) -> Any:
    """Import the defining module of a public name when it is first asked for."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name], __name__), name)
