"""From an engine-set YAML to TensorRT engines: export to ONNX, build each engine, write new engine sets.

The input is the engine-set YAML every tool reads (``motion``, ``segmentation``, ``refiner``).
Checkpoints (.pt) are exported to ONNX, ONNX files are used as they are, ``dis`` stays ``dis``, and
``--motion raft_small|raft_large`` exports torchvision's RAFT as the motion network. Two engine sets
are written next to the results: ``engines-onnx.yaml`` (ONNX Runtime, CPU or GPU) and ``engines.yaml``
(the TensorRT engines), so the same tools select either backend by the YAML they are given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import yaml
from google.protobuf.message import DecodeError

from warp_refine_ros.engines.loading import EngineSet
from warp_refine_ros.errors import EngineError
from warp_refine_ros.modelspec import ModelMetadata, read_onnx_metadata
from warp_refine_ros.trt.build import BuildOptions, BuiltEngine, build_engine
from warp_refine_ros.trt.profiles import CameraSizes, Size, input_profile
from warp_refine_ros.trt.samples import sample_feeds

ROLES = ("segmentation", "refiner", "motion")  # segmentation first: the refiner's profile needs its scale
ONNX_SET = "engines-onnx.yaml"
TENSORRT_SET = "engines.yaml"
Entries = dict[str, str | None]  # role -> absolute file path, file-less engine name ("dis"), or None


@dataclass(frozen=True)
class RaftExport:
    """Export torchvision's RAFT as the motion network instead of the engine set's motion entry."""

    variant: str  # raft_small | raft_large
    weights: Path | None = None  # None: the torch hub cache
    iterations: int = 12
    random_weights: bool = False  # timing runs only


def prepare_onnx(engine_set: str | Path, out_dir: str | Path, *, raft: RaftExport | None = None) -> Entries:
    """Each role's ONNX file (exporting .pt checkpoints and RAFT into ``out_dir``), or its file-less name."""
    out_dir = Path(out_dir)
    named = EngineSet.names_in_yaml(engine_set)
    if raft is not None:  # first: torchvision and the weights are the likeliest to be missing
        named["motion"] = str(_export_raft(raft, out_dir / "motion.onnx"))
    return {role: _onnx_entry(role, named[role], out_dir, source=Path(engine_set)) for role in ROLES}


def read_metadata(role: str, onnx_path: str | Path) -> ModelMetadata:
    """The metadata of an ONNX network, checked to be a ``role`` network (motion networks may have none)."""
    if role == "motion":
        try:
            model = onnx.load(str(onnx_path), load_external_data=False)
        except (DecodeError, ValueError, OSError) as err:
            raise EngineError(f"{onnx_path} is not a readable ONNX model: {err}") from err
        props = {prop.key: prop.value for prop in model.metadata_props}
        metadata = ModelMetadata.for_motion(props, source=str(onnx_path))
    else:
        metadata = read_onnx_metadata(onnx_path)
    if metadata.arch != role:
        raise EngineError(f"{onnx_path} is a {metadata.arch} network, but the engine set names it as {role}")
    return metadata


def build_engine_set(
    entries: Entries,
    out_dir: str | Path,
    *,
    sizes: CameraSizes,
    options: BuildOptions,
    parity_size: Size | None,
) -> dict[str, BuiltEngine]:
    """Build ``OUT/<role>.engine`` for every role with an ONNX file; ``parity_size`` None skips parity."""
    out_dir = Path(out_dir)
    metadata = {role: read_metadata(role, path) for role, path in entries.items() if _is_onnx(path)}
    segmentation_scale = metadata["segmentation"].input_scale if "segmentation" in metadata else None
    built = {}
    for role, network in metadata.items():
        feeds: dict[str, np.ndarray] | None = None
        if parity_size is not None:
            feeds = sample_feeds(network, sizes.clamp(parity_size), segmentation_scale=segmentation_scale)
        built[role] = build_engine(
            entries[role],
            out_dir / f"{role}.engine",
            arch=role,
            profile=input_profile(network, sizes, segmentation_scale=segmentation_scale),
            metadata_props=network.to_props(),
            options=options,
            parity_feeds=feeds,
        )
    return built


def write_engine_set(path: str | Path, entries: Entries, *, comment: str) -> Path:
    """Write an engine-set YAML with file paths relative to it; ``comment`` heads the file."""
    path = Path(path)
    data = {
        role: os.path.relpath(value, path.parent) if _is_file_entry(value) else value
        for role, value in entries.items()
        if value is not None
    }
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    os.replace(partial, path)
    return path


def _onnx_entry(role: str, value: str | None, out_dir: Path, *, source: Path) -> str | None:
    """What to build for one engine-set entry; exports a checkpoint to ``out_dir/<role>.onnx``."""
    if value is None or not Path(value).suffix:
        if value is not None and role != "motion":
            raise EngineError(f"engine set {source}: {role} must be a .pt or .onnx file, got {value!r}")
        return value  # absent, or a file-less motion engine such as "dis"
    path = Path(value)
    if path.suffix in (".engine", ".plan"):
        raise EngineError(
            f"engine set {source}: {role} {path} is already a TensorRT engine; "
            "name the .onnx or .pt it came from"
        )
    if not path.is_file():
        raise EngineError(f"engine set {source}: {role} file {path} does not exist")
    if path.suffix == ".pt" and role != "motion":
        from warp_refine_ros.networks.checkpoint import load_checkpoint
        from warp_refine_ros.networks.export import export_onnx

        return str(export_onnx(load_checkpoint(path, arch=role), out_dir / f"{role}.onnx"))
    if path.suffix != ".onnx":
        raise EngineError(f"engine set {source}: {role} {path} is not an .onnx file (or a .pt checkpoint)")
    read_metadata(role, path)
    return str(path)


def _export_raft(raft: RaftExport, out_path: Path) -> Path:
    from warp_refine_ros.networks.motion_export import export_motion_onnx, load_raft

    network = load_raft(raft.variant, raft.weights, random_weights=raft.random_weights)
    return export_motion_onnx(network, out_path, variant=raft.variant, iterations=raft.iterations)


def _is_onnx(value: str | None) -> bool:
    return value is not None and Path(value).suffix == ".onnx"


def _is_file_entry(value: str) -> bool:
    return bool(Path(value).suffix)
