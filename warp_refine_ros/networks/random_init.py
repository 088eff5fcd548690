"""Networks with random weights but realistic activations, for timing runs and plumbing tests.

A freshly built network has identity batch-norm statistics and a zero refiner head, so its
outputs are nearly constant and hide wiring mistakes; these helpers calibrate batch norm on
random images and give the head random weights. Their predictions mean nothing.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.checkpoint import NetworkConfig, build_model, config_from_dict, save_checkpoint
from warp_refine_ros.networks.export import export_onnx

CALIBRATION_SIZE = (96, 128)  # (H, W) of the random batches batch norm is calibrated on


def random_network(arch: str, config: NetworkConfig | None = None, *, seed: int = 0) -> nn.Module:
    """A network of ``arch`` with seeded random weights and calibrated batch norm, in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build_model(arch, config)
    height, width = CALIBRATION_SIZE
    with torch.no_grad():
        head = model.head if arch == "refiner" else model.classifier
        nn.init.normal_(head.weight, std=0.5, generator=generator)  # confident, varied predictions
        norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        for norm in norms:  # cumulative averages over the calibration batches
            norm.reset_running_stats()
            norm.momentum = None
        model.train()
        for _ in range(4):
            image = torch.randn(2, 3, height, width, generator=generator)
            if arch == "segmentation":
                model(image)
            else:
                model(*refiner_inputs(image, generator))
    for norm in norms:
        norm.momentum = 0.1
    return model.eval()


def refiner_inputs(
    image: torch.Tensor, generator: torch.Generator, classes: int = 5
) -> tuple[torch.Tensor, ...]:
    """Random, well-formed refiner inputs for a batch of images: one-hot labels, trust, g's probabilities."""
    batch, _, height, width = image.shape
    ids = torch.randint(classes, (batch, height, width), generator=generator)
    labels = nn.functional.one_hot(ids, classes).permute(0, 3, 1, 2).float()
    trust = (torch.rand(batch, 1, height, width, generator=generator) < 0.8).float()
    logits = torch.randn(batch, classes, height // 8, width // 8, generator=generator)
    return labels, trust, torch.softmax(logits, dim=1), image


def write_random_networks(directory: str | Path, spec: LabelSpec, *, seed: int = 0) -> dict[str, Path]:
    """Write random segmentation and refiner networks as .pt and .onnx; returns their paths by name."""
    directory = Path(directory)
    paths = {}
    for offset, arch in enumerate(("segmentation", "refiner")):
        classes = {"num_classes": spec.num_classes}  # Omega takes any number of classes
        model = random_network(
            arch, config_from_dict(arch, classes) if arch == "segmentation" else None, seed=seed + offset
        )
        checkpoint = save_checkpoint(directory / f"{arch}.pt", model, spec=spec, metadata={"random": True})
        paths[f"{arch}.pt"] = checkpoint
        paths[f"{arch}.onnx"] = export_onnx(checkpoint, directory / f"{arch}.onnx")
    return paths
