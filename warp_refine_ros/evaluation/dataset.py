"""Read an auto-labeled output dataset (manifest.jsonl, classes.yaml, labels/) and its ground truth.

Ground truth is a directory of label PNGs named ``<stamp_ns>.png``, either flat or with one
sub-directory per camera (``<camera>/<stamp_ns>.png``, camera = the topic with slashes turned to
underscores and the leading one dropped), the same layout as keyframe label directories.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warp_refine_ros.errors import DatasetError
from warp_refine_ros.labels import LabelSpec, read_label_png

MANIFEST = "manifest.jsonl"
CLASSES = "classes.yaml"

# Manifest fields the evaluation reads, with their JSON types.
_FIELDS: dict[str, type] = {"camera": str, "stamp_ns": int, "label": str, "offset": int, "method": str}
_KINDS = {str: "a string", int: "an integer"}


@dataclass(frozen=True)
class FrameRecord:
    """One manifest line reduced to what scoring needs; ``label`` is resolved against OUT."""

    method: str
    camera: str
    stamp_ns: int
    offset: int  # signed frames from the keyframe, 0 = the keyframe itself
    label: Path
    where: str  # "OUT/manifest.jsonl line N", for messages


def read_manifest(out_dir: str | Path) -> list[FrameRecord]:
    """Parse OUT/manifest.jsonl, one JSON object per line; blank lines are allowed."""
    out_dir = Path(out_dir)
    path = out_dir / MANIFEST
    if not path.is_file():
        raise DatasetError(
            f"{path} does not exist; point at a directory written by bag_label (it holds {MANIFEST})"
        )
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                records.append(_parse_line(line, out_dir, f"{path} line {number}"))
    return records


def _parse_line(line: str, out_dir: Path, where: str) -> FrameRecord:
    """One manifest line -> FrameRecord, with the line named in every error."""
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as err:
        raise DatasetError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from err
    if not isinstance(entry, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(entry).__name__}")
    for name, kind in _FIELDS.items():
        if name not in entry:
            raise DatasetError(f"{where}: missing field {name!r} (needs {', '.join(_FIELDS)})")
        value = entry[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise DatasetError(f"{where}: field {name!r} must be {_KINDS[kind]}, got {value!r}")
    return FrameRecord(
        method=entry["method"],
        camera=entry["camera"],
        stamp_ns=entry["stamp_ns"],
        offset=entry["offset"],
        label=out_dir / entry["label"],
        where=where,
    )


def read_classes(out_dir: str | Path) -> LabelSpec:
    """The class spec the dataset was written with, OUT/classes.yaml."""
    path = Path(out_dir) / CLASSES
    if not path.is_file():
        raise DatasetError(f"{path} does not exist; pass the class spec with --classes YAML")
    return LabelSpec.from_yaml(path)


def find_truth(truth_dir: Path, record: FrameRecord) -> Path | None:
    """The truth PNG for a frame, per-camera layout first, then flat; None if there is none."""
    for path in (truth_dir / record.camera / f"{record.stamp_ns}.png", truth_dir / f"{record.stamp_ns}.png"):
        if path.is_file():
            return path
    return None


def load_pair(record: FrameRecord, truth_path: Path, spec: LabelSpec) -> tuple[np.ndarray, np.ndarray]:
    """Read and check (truth ids, label ids) for one frame: same size, ids known to the spec."""
    if not record.label.is_file():
        raise DatasetError(
            f"{record.where} lists label {record.label}, which does not exist; "
            "rerun the same bag_label command: it labels again the frames whose files are missing"
        )
    label = spec.validate(read_label_png(record.label), name=str(record.label))
    truth = spec.validate(read_label_png(truth_path), name=str(truth_path))
    if truth.shape != label.shape:
        raise DatasetError(
            f"truth {truth_path} is {truth.shape[1]}x{truth.shape[0]} but label {record.label} is "
            f"{label.shape[1]}x{label.shape[0]} (width x height); truth must be at the image's resolution"
        )
    return truth, label
