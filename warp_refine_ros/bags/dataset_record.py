"""dataset.json: the settings a dataset's labels depend on, and what it knows of each camera stream.

Version 2 records, beside version 1's settings (method, radius, tau, engines, class spec, image format,
overlays), the stamp the frames are named by and the libraries whose builds change the pixels (OpenCV,
numpy, the engines' runtimes), and per stream its folder (see the naming rule in :mod:`dataset`), stamp
span and recording. A version 1 dataset is read as version 2: its libraries are taken from its run.json,
its streams' folders from the manifest's paths; one whose bags were written to the same files (as that
release did for bags with overlapping stamps) is refused.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from warp_refine_ros.bags.dataset import read_manifest
from warp_refine_ros.errors import DatasetError

RECORD = "dataset.json"
FORMAT = "warp_refine_ros dataset"
VERSION = 2
READS = (1, 2)


@dataclass(frozen=True)
class DatasetSettings:
    """What every label of a dataset depends on besides its images and keyframes."""

    method: str
    radius: int
    tau: float
    engines: dict[str, str | None]  # role -> identity (name, or file name and content hash)
    classes: dict  # LabelSpec.to_dict()
    image_format: str
    color: bool
    stamp: str = "header"  # which time names a frame: its header stamp, or the recording time ("log")
    libraries: dict[str, str] = field(default_factory=dict)  # distribution -> version

    def differences(self, other: DatasetSettings) -> list[str]:
        """``name: ours -> theirs`` for every setting that differs (a library only where both know it)."""
        ours, theirs = asdict(self), asdict(other)
        lines = []
        for name in ours:
            if name == "engines":
                lines += [
                    f"{role} engine: {ours[name].get(role)} -> {theirs[name].get(role)}"
                    for role in sorted({*ours[name], *theirs[name]})
                    if ours[name].get(role) != theirs[name].get(role)
                ]
            elif name == "libraries":
                lines += [
                    f"{library}: {ours[name][library]} -> {theirs[name][library]}"
                    for library in sorted(ours[name].keys() & theirs[name].keys())
                    if ours[name][library] != theirs[name][library]
                ]
            elif name == "classes" and ours[name] != theirs[name]:
                lines.append("class spec: another list of classes (see classes.yaml)")
            elif ours[name] != theirs[name]:
                lines.append(f"{name}: {ours[name]} -> {theirs[name]}")
        return lines


def stream_key(bag: str, topic: str) -> str:
    """A stream's key in the record: bag name and topic (a topic holds no space)."""
    return f"{bag} {topic}"


def read_record(folder: Path) -> dict:
    """``folder``'s dataset.json as a version 2 record; a DatasetError if it is not one of ours."""
    path = folder / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path} cannot be read ({err}); is the folder a dataset of this tool?") from err
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise DatasetError(f"{path} is not a {FORMAT} record; label into a new --out")
    if record.get("version") not in READS:
        raise DatasetError(
            f"{path} has record version {record.get('version')}; this release reads versions "
            f"{', '.join(map(str, READS))}: label with the release that wrote it, or into a new --out"
        )
    return record if record["version"] == VERSION else _upgrade(record, folder)


def _upgrade(record: dict, folder: Path) -> dict:
    """A version 1 record as version 2: libraries from run.json, stream folders from the manifest."""
    record["settings"].setdefault("stamp", "header")
    record["settings"]["libraries"] = _run_versions(folder / "run.json")
    folders: dict[str, set[str]] = defaultdict(set)
    owners: dict[str, set[str]] = defaultdict(set)
    for entry in read_manifest(folder / "manifest.jsonl"):
        folders[stream_key(entry.bag, entry.topic)].add(
            str(PurePosixPath(entry.label).parent.relative_to("labels"))
        )
        owners[entry.label].add(entry.bag)
    if shared := sorted(label for label, bags in owners.items() if len(bags) > 1):
        bags = ", ".join(sorted(owners[shared[0]]))
        raise DatasetError(
            f"{folder}: an earlier release wrote frames of different bags ({bags}) to the same files "
            f"({len(shared)} of them, e.g. {shared[0]}), so one bag's labels replaced the other's. Label "
            "these bags into a new --out: this release gives every bag's frames files of their own."
        )
    for key, stream in record["streams"].items():
        if len(found := folders.get(key, set())) == 1:
            stream["folder"] = found.pop()  # a stream without frames gets its folder when next labeled
    record["version"] = VERSION
    return record


def _run_versions(path: Path) -> dict[str, str]:
    """The library versions a version 1 dataset's last run recorded in run.json ({} if unknown)."""
    try:
        return dict(json.loads(path.read_text(encoding="utf-8"))["versions"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}
