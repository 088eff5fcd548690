"""Export a learned motion engine (torchvision's RAFT) to ONNX for ONNX Runtime and TensorRT.

The exported graph is ``image, reference (B, 3, H, W) in [-1, 1] -> flow (B, 2, H, W)``, the
backward flow of :mod:`warp_refine_ros.engines.base`: RAFT(image1=image, image2=reference) gives,
for each pixel x of ``image``, where it lies in ``reference`` (``image(x) ~ reference(x + flow(x))``).
Height and width are dynamic axes (RAFT needs both to be multiples of 8 and at least 128, which the
engines' padding provides). Opset 17: RAFT's correlation lookup is a GridSample (opset 16 or newer,
bilinear, aligned corners), which TensorRT 10 parses into its grid-sample layer; opset 20 renamed its
modes, so 17 is kept, as for the other networks.

torchvision and the weights must already be on the machine: a weights file, or the torch hub cache
that ``raft_small(weights=Raft_Small_Weights.DEFAULT)`` fills. Nothing here downloads.
"""

from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from warp_refine_ros.errors import EngineError
from warp_refine_ros.modelspec import ModelMetadata, Normalization
from warp_refine_ros.networks.export import save_onnx

OPSET = 17
VARIANTS = ("raft_small", "raft_large")
RAFT_NORMALIZATION = Normalization((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))  # [0, 255] -> [-1, 1]
DEFAULT_ITERATIONS = 12  # torchvision's num_flow_updates
PAD_MULTIPLE = 8  # RAFT works at 1/8 resolution
EXAMPLE_SIZE = (128, 160)  # (H, W) traced: RAFT's smallest size, height and width kept apart
WEIGHTS_ENUMS = {"raft_small": "Raft_Small_Weights", "raft_large": "Raft_Large_Weights"}


class FlowNetwork(nn.Module):
    """A RAFT-style network as a motion engine: (image, reference) -> its last flow estimate."""

    def __init__(self, raft: nn.Module, *, iterations: int = DEFAULT_ITERATIONS) -> None:
        super().__init__()
        if iterations < 1:
            raise EngineError(f"RAFT needs at least one flow update, got iterations={iterations}")
        self.raft = raft
        self.iterations = iterations

    def forward(self, image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        # F(t+1) = F(t) + Δ(t) for `iterations` updates; only the last, upsampled estimate is used.
        return self.raft(image, reference, num_flow_updates=self.iterations)[-1]  # (B, 2, H, W)


def _torchvision_raft() -> Any:
    """torchvision's optical-flow module, or an EngineError saying how to get it."""
    try:
        from torchvision.models import optical_flow
    except (ImportError, RuntimeError) as err:  # RuntimeError: a torchvision built for another torch
        raise EngineError(
            f"the RAFT motion engine needs torchvision matching torch {torch.__version__} ({err}); "
            "install it (pip install torchvision) or keep 'motion: dis'"
        ) from err
    return optical_flow


def default_weights_path(variant: str) -> Path:
    """Where torchvision keeps the default weights of ``variant`` once downloaded (torch hub cache)."""
    optical_flow = _torchvision_raft()
    weights = getattr(optical_flow, WEIGHTS_ENUMS[_check_variant(variant)]).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]


def load_raft(variant: str, weights: str | Path | None = None, *, random_weights: bool = False) -> nn.Module:
    """torchvision's ``raft_small``/``raft_large`` with local weights, in eval mode on the CPU.

    ``weights`` is a state-dict file; None looks in the torch hub cache. ``random_weights`` skips the
    weights (timing runs and tests only: the flow then means nothing).
    """
    optical_flow = _torchvision_raft()
    model = getattr(optical_flow, _check_variant(variant))(weights=None, progress=False)
    if random_weights:
        return model.eval()
    path = Path(weights) if weights is not None else default_weights_path(variant)
    if not path.is_file():
        enum = WEIGHTS_ENUMS[variant]
        raise EngineError(
            f"{variant} weights {path} not found; pass --raft-weights FILE, or fetch them once on a "
            f"machine with internet access: python -c 'from torchvision.models.optical_flow import "
            f"{variant}, {enum}; {variant}(weights={enum}.DEFAULT)' (it fills the torch hub cache)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, KeyError, OSError, ValueError) as err:
        raise EngineError(f"{path} is not a {variant} state dict: {str(err).splitlines()[0]}") from err
    return model.eval()


def export_motion_onnx(
    raft: nn.Module,
    out_path: str | Path,
    *,
    variant: str,
    iterations: int = DEFAULT_ITERATIONS,
    normalization: Normalization = RAFT_NORMALIZATION,
) -> Path:
    """Write a RAFT-style network (torchvision's interface) as a checked motion .onnx file."""
    metadata = ModelMetadata(
        arch="motion",
        normalization=normalization,
        config={"variant": variant, "iterations": iterations, "pad_multiple": PAD_MULTIPLE},
    )
    module = FlowNetwork(raft, iterations=iterations).eval()
    height, width = EXAMPLE_SIZE
    generator = torch.Generator().manual_seed(0)
    example = tuple(torch.rand(1, 3, height, width, generator=generator) * 2 - 1 for _ in range(2))
    axes = {0: "batch", 2: "height", 3: "width"}
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # RAFT checks shapes in Python (traced as constants for the example; the engines pad to
        # multiples of 8) and the TorchScript exporter announces its successor: both are noise here.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*(copy construct|TrainingMode.EVAL)")
        torch.onnx.export(
            module,
            example,
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=list(metadata.inputs),
            output_names=list(metadata.outputs),
            dynamic_axes=dict.fromkeys((*metadata.inputs, *metadata.outputs), axes),
        )
    model = onnx.load_from_string(buffer.getvalue())
    channels = model.graph.output[0].type.tensor_type.shape.dim[1]
    channels.Clear()  # the tracer leaves flow's channel axis symbolic; it is (dx, dy)
    channels.dim_value = 2
    return save_onnx(model, metadata, out_path)


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise EngineError(f"unknown RAFT variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return variant
