"""Array backends of the propagation: one protocol, numpy/OpenCV (the CPU default) and torch (GPU).

Importing this package does not import torch: :class:`TorchOps` and :class:`TorchSampling` load their
module on first use, so the numpy backend runs where torch is not installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from warp_refine_ros.errors import UsageError
from warp_refine_ros.propagation.ops.numpy_ops import NumpyOps
from warp_refine_ros.propagation.ops.protocol import ArrayOps

if TYPE_CHECKING:
    from warp_refine_ros.propagation.ops.torch_ops import TorchOps, TorchSampling

_TORCH_NAMES = ("TorchOps", "TorchSampling")

__all__ = ["BACKENDS", "ArrayOps", "NumpyOps", "TorchOps", "TorchSampling", "backend"]

BACKENDS = ("numpy", "torch")


def backend(name: str | None, device: str = "cpu") -> ArrayOps:
    """The array backend of a run: ``name`` if given, else torch on a GPU device and numpy on the CPU."""
    name = name or ("torch" if device.startswith("cuda") else "numpy")
    if name not in BACKENDS:
        raise UsageError(f"unknown propagation backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "numpy":
        return NumpyOps()
    try:
        return __getattr__("TorchOps")(device)
    except ImportError as err:
        raise UsageError(f"the torch propagation backend needs PyTorch ({err}); pip install torch") from err


def __getattr__(name: str) -> Any:
    """Import the torch backend when one of its names is first asked for."""
    if name not in _TORCH_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.torch_ops"), name)
