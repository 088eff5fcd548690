"""Export the segmentation and refiner networks to ONNX (opset 17, dynamic batch and image size).

The exported graph is the engine form of the network (:mod:`warp_refine_ros.networks.inference`:
probabilities, not logits) with the class spec, normalisation, architecture, config and input
scale in ``metadata_props``, so an .onnx file is a complete engine on its own and a TensorRT build
needs nothing else. Export uses torch's TorchScript-based exporter (``dynamo=False``): it needs no
``onnxscript``, works offline and writes opset 17 directly; every operator it emits here (Conv,
HardSwish, HardSigmoid, Resize, GlobalAveragePool, AveragePool, Max, Exp, Div) is one TensorRT 10
parses.
"""

from __future__ import annotations

import copy
import io
import os
import warnings
from dataclasses import asdict
from pathlib import Path

import onnx
import torch
from torch import nn

from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.modelspec import IMAGENET, ModelMetadata, Normalization
from warp_refine_ros.networks.checkpoint import Checkpoint, load_checkpoint
from warp_refine_ros.networks.inference import inference_module

OPSET = 17
EXAMPLE_SIZE = (64, 96)  # (H, W) traced; every spatial axis is dynamic in the exported graph


def export_onnx(
    source: str | Path | Checkpoint | nn.Module,
    out_path: str | Path,
    *,
    spec: LabelSpec | None = None,
    normalization: Normalization | None = None,
) -> Path:
    """Write ``source`` (a .pt path, a Checkpoint, or a network plus ``spec``) as a checked .onnx file."""
    net, spec, normalization = _resolve(source, spec, normalization)
    metadata = ModelMetadata(
        arch=net.arch,
        normalization=normalization,
        spec=spec,
        config=asdict(net.config),
        input_scale=getattr(net.config, "input_scale", 1.0),
    )
    module = inference_module(copy.deepcopy(net).cpu())  # the caller's model keeps its device and mode
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter announces its torch.export successor, which needs onnxscript.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.export(
            module,
            _example_inputs(net),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=list(metadata.inputs),
            output_names=list(metadata.outputs),
            dynamic_axes=_dynamic_axes(metadata),
        )
    return save_onnx(onnx.load_from_string(buffer.getvalue()), metadata, out_path)


def save_onnx(model: onnx.ModelProto, metadata: ModelMetadata, out_path: str | Path) -> Path:
    """Add ``metadata`` to ``model``, check it and write it atomically (never half a file at ``out_path``)."""
    model.producer_name = "warp_refine_ros"
    for key, value in metadata.to_props().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model, full_check=True)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    onnx.save(model, str(partial))
    os.replace(partial, out_path)
    return out_path


def _resolve(
    source: str | Path | Checkpoint | nn.Module, spec: LabelSpec | None, normalization: Normalization | None
) -> tuple[nn.Module, LabelSpec, Normalization]:
    if isinstance(source, nn.Module):
        if spec is None:
            raise EngineError("exporting a network object needs its class spec (spec=...)")
        classes = getattr(source.config, "num_classes", spec.num_classes)  # Omega takes any number
        if classes != spec.num_classes:
            raise EngineError(f"the network predicts {classes} classes but the spec has {spec.num_classes}")
        return source, spec, normalization or IMAGENET
    checkpoint = source if isinstance(source, Checkpoint) else load_checkpoint(source)
    return checkpoint.model(), spec or checkpoint.spec, normalization or checkpoint.normalization


def _example_inputs(net: nn.Module) -> tuple[torch.Tensor, ...]:
    height, width = EXAMPLE_SIZE
    image = torch.randn(1, 3, height, width)
    if net.arch == "segmentation":
        return (image,)
    classes = 5  # any: the class axis is dynamic
    labels = torch.zeros(1, classes, height, width)
    labels[:, 0] = 1.0
    trust = (torch.rand(1, 1, height, width) > 0.2).float()
    segmentation = torch.softmax(torch.randn(1, classes, height // 8, width // 8), dim=1)
    return labels, trust, segmentation, image


def _dynamic_axes(metadata: ModelMetadata) -> dict[str, dict[int, str]]:
    image = {0: "batch", 2: "height", 3: "width"}
    if metadata.arch == "segmentation":
        return {
            "image": image,
            "probabilities": {0: "batch", 2: "quarter_height", 3: "quarter_width"},
            "features": {0: "batch", 2: "eighth_height", 3: "eighth_width"},
        }
    classes = {0: "batch", 1: "classes", 2: "height", 3: "width"}
    return {
        "labels": classes,
        "trust": image,
        "segmentation": {0: "batch", 1: "classes", 2: "grid_height", 3: "grid_width"},
        "image": image,
        "probabilities": classes,
    }
