"""Device names (``cpu``, ``cuda``, ``cuda:N``) as every backend and trainer reads them.

torch is imported only by :func:`torch_device`, so ONNX Runtime engines parse devices without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warp_refine_ros.errors import EngineError

if TYPE_CHECKING:
    import torch


def parse_device(device: str) -> tuple[str, int]:
    """``cpu``, ``cuda`` or ``cuda:N`` -> (kind, index)."""
    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return "cpu", 0
    if kind == "cuda" and (not index or index.isdigit()):
        return "cuda", int(index or 0)
    raise EngineError(f"unknown device {device!r}; use cpu, cuda or cuda:N")


def torch_device(device: str) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N`` as a torch device that exists on this machine."""
    import torch

    kind, index = parse_device(device)
    if kind == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise EngineError(f"device {device!r} asked for, but this torch has no CUDA; use --device cpu")
    if index >= torch.cuda.device_count():
        raise EngineError(
            f"device {device!r} asked for, but only {torch.cuda.device_count()} GPU(s) are visible"
        )
    return torch.device("cuda", index)
