"""Array backends of the propagation: one protocol, numpy/OpenCV (the CPU default) and torch (GPU).

Importing this package does not import torch: :class:`TorchOps` and :class:`TorchSampling` load their
module on first use, so the numpy backend runs where torch is not installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from warp_refine_ros.propagation.ops.numpy_ops import NumpyOps
from warp_refine_ros.propagation.ops.protocol import ArrayOps

if TYPE_CHECKING:
    from warp_refine_ros.propagation.ops.torch_ops import TorchOps, TorchSampling

_TORCH_NAMES = ("TorchOps", "TorchSampling")

__all__ = ["ArrayOps", "NumpyOps", "TorchOps", "TorchSampling"]


def __getattr__(name: str) -> Any:
    """Import the torch backend when one of its names is first asked for."""
    if name not in _TORCH_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.torch_ops"), name)
