"""Networks for the build and engine tests: our random-weight g and Omega, and a RAFT-like motion network.

``TinyRaft`` has torchvision RAFT's interface (``forward(image1, image2, num_flow_updates)`` -> list of
flows at full size) and the operations that decide whether RAFT exports and builds: features at 1/8,
an all-pairs correlation volume looked up with ``grid_sample`` around the current estimate, iterative
updates, and x8 upsampling. Its weights are random, so its flow means nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from warp_refine_ros.networks.motion_export import export_motion_onnx


class TinyRaft(nn.Module):
    """A RAFT-shaped flow network at toy size (random weights)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Conv2d(3, 8, kernel_size=8, stride=8)  # (B, 8, H/8, W/8)
        self.update = nn.Conv2d(9 + 2, 2, kernel_size=3, padding=1)  # 3x3 correlation window + flow -> delta

    def forward(
        self, image1: torch.Tensor, image2: torch.Tensor, num_flow_updates: int = 12
    ) -> list[torch.Tensor]:
        f1, f2 = self.encoder(image1), self.encoder(image2)
        batch, channels, h, w = f1.shape
        corr = torch.matmul(f1.flatten(2).transpose(1, 2), f2.flatten(2)) / channels**0.5  # (B, hw, hw)
        corr = corr.reshape(batch * h * w, 1, h, w)
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        coords0 = torch.stack([xs, ys]).float()[None].repeat(batch, 1, 1, 1)  # (B, 2, h, w), (x, y)
        window = torch.stack(
            torch.meshgrid(torch.arange(-1, 2), torch.arange(-1, 2), indexing="xy"), -1
        ).float()
        coords1, flows = coords0, []
        for _ in range(num_flow_updates):
            centres = coords1.permute(0, 2, 3, 1).reshape(batch * h * w, 1, 1, 2)
            x, y = (centres + window.view(1, 3, 3, 2)).split([1, 1], dim=-1)  # (B*h*w, 3, 3, 1) pixels
            grid = torch.cat([2 * x / (w - 1) - 1, 2 * y / (h - 1) - 1], dim=-1)
            lookup = F.grid_sample(corr, grid, align_corners=True)  # (B*h*w, 1, 3, 3)
            lookup = lookup.reshape(batch, h, w, 9).permute(0, 3, 1, 2)
            coords1 = coords1 + self.update(torch.cat([lookup, coords1 - coords0], dim=1))
            flows.append(8 * F.interpolate(coords1 - coords0, size=(8 * h, 8 * w), mode="bilinear"))
        return flows


@pytest.fixture(scope="session")
def tiny_raft() -> TinyRaft:
    torch.manual_seed(3)
    return TinyRaft().eval()


@pytest.fixture(scope="session")
def tiny_raft_onnx(tmp_path_factory: pytest.TempPathFactory, tiny_raft: TinyRaft) -> Path:
    path = tmp_path_factory.mktemp("trt_motion") / "motion.onnx"
    return export_motion_onnx(tiny_raft, path, variant="tiny", iterations=3)
