"""PyTorch engines: run our .pt checkpoints directly (training machines, quick checks, CUDA via torch).

They run the same inference modules that are exported to ONNX and share pre- and post-processing
with the other backends (:mod:`warp_refine_ros.engines.network_backend`), so a .pt and its .onnx give
the same labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from warp_refine_ros.engines.devices import torch_device
from warp_refine_ros.engines.network_backend import NetworkRefiner, NetworkSegmentation
from warp_refine_ros.networks.checkpoint import NetworkConfig, load_checkpoint
from warp_refine_ros.networks.inference import inference_module


class _TorchNetwork:
    """Loads a checkpoint of one architecture and holds its inference module on a device."""

    def __init__(self, path: str | Path, arch: str, device: str) -> None:
        path = Path(path)
        checkpoint = load_checkpoint(path, arch=arch)
        self.device = torch_device(device)
        self.module = inference_module(checkpoint.model()).to(self.device)
        self.name = f"torch:{path.name}@{self.device}"
        self.config: NetworkConfig = checkpoint.config
        self.spec = checkpoint.spec
        self.normalization = checkpoint.normalization

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        """A numpy batch as a tensor on this engine's device (no copy on the CPU)."""
        return torch.from_numpy(array).to(self.device)


class TorchSegmentation(_TorchNetwork, NetworkSegmentation):
    """The segmentation engine g from a .pt checkpoint."""

    def __init__(self, path: str | Path, *, device: str = "cpu") -> None:
        super().__init__(path, "segmentation", device)
        self.input_scale = self.config.input_scale

    @torch.inference_mode()
    def _infer(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        probabilities, features = self.module(self.tensor(image))
        return probabilities.cpu().numpy(), features.cpu().numpy()


class TorchRefiner(_TorchNetwork, NetworkRefiner):
    """The refiner engine Omega from a .pt checkpoint."""

    def __init__(self, path: str | Path, *, device: str = "cpu") -> None:
        super().__init__(path, "refiner", device)
        self.max_pixels = self.config.max_pixels

    @torch.inference_mode()
    def _infer(
        self, labels: np.ndarray, trust: np.ndarray, segmentation: np.ndarray, image: np.ndarray
    ) -> np.ndarray:
        inputs = (self.tensor(array) for array in (labels, trust, segmentation, image))
        return self.module(*inputs).cpu().numpy()
