"""bag_label's output folder: whose it is, which settings its labels were made with, what a rerun changes.

A dataset holds one run's settings. ``OUT/dataset.json`` records them (method, radius, tau, the
engines' identities, class spec, image format, overlays) and, per stream, the bag's size and a hash of
every keyframe label it was labeled from. A rerun with other settings is refused with the
differences; a rerun whose keyframes changed relabels exactly the frames whose keyframe window
changed (and removes frames no longer within reach of a keyframe), so the result equals a clean run.
A folder that is not empty and holds no ``dataset.json`` is someone else's and is never written to.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from warp_refine_ros.bags.dataset import (
    Manifest,
    ManifestRecord,
    frame_files,
    read_manifest,
    rewrite_manifest,
)
from warp_refine_ros.bags.keyframes import camera_name
from warp_refine_ros.bags.labeling import StreamPlan
from warp_refine_ros.bags.windows import frames_to_relabel
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.fileio import TEMPORARY, write_json
from warp_refine_ros.labels import LabelSpec

RECORD = "dataset.json"
LOCK = ".bag_label.lock"
FORMAT = "warp_refine_ros dataset"
VERSION = 1
FRAME_FOLDERS = ("images", "labels", "confidence", "color")
NAMES = (*FRAME_FOLDERS, RECORD, "manifest.jsonl", "classes.yaml", "run.json", "train.txt", "val.txt")
"""What a dataset folder holds; anything else in it (a review bag, notes) is left alone."""


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

    def differences(self, other: DatasetSettings) -> list[str]:
        """``name: ours -> theirs`` for every setting that differs."""
        ours, theirs = asdict(self), asdict(other)
        lines = []
        for name in ours:
            if name == "engines":
                lines += [
                    f"{role} engine: {ours[name].get(role)} -> {theirs[name].get(role)}"
                    for role in sorted({*ours[name], *theirs[name]})
                    if ours[name].get(role) != theirs[name].get(role)
                ]
            elif name == "classes" and ours[name] != theirs[name]:
                lines.append("class spec: another list of classes (see classes.yaml)")
            elif ours[name] != theirs[name]:
                lines.append(f"{name}: {ours[name]} -> {theirs[name]}")
        return lines


@dataclass(frozen=True)
class StreamChange:
    """What a rerun does to one stream the dataset already holds because its keyframes changed."""

    bag: str
    topic: str
    added: int
    changed: int
    removed: int
    relabel: frozenset[int]  # stamps whose labels change: dropped from the manifest, labeled again
    unlabeled: frozenset[int]  # stamps no longer within reach of a keyframe: files and records removed


@dataclass
class DatasetFolder:
    """An output folder as found before a run: new, or a dataset this tool wrote (read, never written)."""

    path: Path
    record: dict | None = None  # dataset.json, None for a new folder
    changes: list[StreamChange] = field(default_factory=list)
    _lock_handle: object = None

    @classmethod
    def inspect(cls, path: Path) -> DatasetFolder:
        """Check that ``path`` may receive a dataset: absent, empty, or one of ours."""
        if path.exists() and not path.is_dir():
            raise DatasetError(f"--out {path} is a file; give a folder for the dataset")
        record_path = path / RECORD
        if record_path.is_file():
            return cls(path, _read_record(record_path))
        if path.is_dir() and any(p.name != LOCK for p in path.iterdir()):
            hint = (
                " It looks like a dataset of an earlier release, which did not record its settings; "
                "label into a new --out."
                if (path / "manifest.jsonl").is_file()
                else " bag_label writes only into a new or empty folder, or into a dataset it wrote."
            )
            raise DatasetError(f"--out {path} is not empty and holds no {RECORD}.{hint}")
        return cls(path)

    @property
    def review_bag(self) -> Path | None:
        """The review bag an earlier run of this dataset wrote, if any."""
        found = (self.record or {}).get("review_bag")
        return Path(found) if found else None

    def check_settings(self, settings: DatasetSettings) -> None:
        """Refuse a rerun whose settings would make other labels than the dataset holds."""
        if self.record is None:
            return
        recorded = DatasetSettings(**self.record["settings"])
        if differences := recorded.differences(settings):
            listing = "\n".join(f"  {line}" for line in differences)
            raise DatasetError(
                f"{self.path} was labeled with other settings than this run's:\n{listing}\n"
                "A dataset holds one run's settings: write these labels to a new --out, or rerun with "
                "the dataset's settings (see its run.json) to continue or extend it."
            )

    def plan_changes(self, plans: Iterable[StreamPlan], bag_bytes: dict[str, int]) -> list[StreamChange]:
        """Per stream the dataset holds: refuse a changed bag, find the frames changed keyframes touch."""
        streams = (self.record or {}).get("streams", {})
        self.changes = []
        for plan in plans:
            index = plan.index
            known = streams.get(_stream_key(index.bag, index.topic))
            if known is None:
                continue
            if known["bag_bytes"] != bag_bytes[index.bag]:
                raise DatasetError(
                    f"{self.path} holds labels of a bag {index.bag} of {known['bag_bytes']} bytes; this "
                    f"{index.bag} has {bag_bytes[index.bag]}. Rename one of them: datasets know bags by name."
                )
            before = {int(stamp): value for stamp, value in known["keyframes"].items()}
            after = plan.keyframe_hashes
            if before == after:
                continue
            relabel, unlabeled = frames_to_relabel(index, before, after, plan.radius)
            self.changes.append(
                StreamChange(
                    index.bag,
                    index.topic,
                    added=len(after.keys() - before.keys()),
                    changed=sum(before[s] != after[s] for s in before.keys() & after.keys()),
                    removed=len(before.keys() - after.keys()),
                    relabel=frozenset(relabel),
                    unlabeled=frozenset(unlabeled),
                )
            )
        return self.changes

    def prepare(
        self,
        settings: DatasetSettings,
        spec: LabelSpec,
        plans: Iterable[StreamPlan],
        bag_bytes: dict[str, int],
    ) -> Manifest:
        """Create or update the dataset for this run (record first, so a crash leaves a folder of ours);
        apply the keyframe changes; drop frames whose files are gone; open the manifest to append."""
        plans = list(plans)
        record = self.record or {
            "format": FORMAT,
            "version": VERSION,
            "settings": asdict(settings),
            "streams": {},
        }
        manifest_path = self.path / "manifest.jsonl"
        self._lock()
        if self.record is None:
            write_json(self.path / RECORD, record)
        if not (self.path / "classes.yaml").is_file():
            spec.to_yaml(self.path / "classes.yaml")
        for folder in (self.path, *(self.path / name for name in FRAME_FOLDERS)):
            _remove_temporaries(folder)
        for change in self.changes:  # files first: a listed frame whose files are gone is redone anyway
            camera = camera_name(change.topic)
            for stamp in change.unlabeled:
                for relative in frame_files(camera, stamp, settings.image_format, settings.color).values():
                    (self.path / relative).unlink(missing_ok=True)
        records = read_manifest(manifest_path, repair=True)
        drop = {(c.bag, c.topic, stamp) for c in self.changes for stamp in c.relabel | c.unlabeled}
        drop |= {_key(r) for r in records if not _files_exist(self.path, r, settings)}
        if drop:
            rewrite_manifest(manifest_path, [r for r in records if _key(r) not in drop])
        for plan in plans:
            index = plan.index
            record["streams"][_stream_key(index.bag, index.topic)] = {
                "bag_bytes": bag_bytes[index.bag],
                "keyframes": {str(stamp): value for stamp, value in sorted(plan.keyframe_hashes.items())},
            }
        write_json(self.path / RECORD, record)
        self.record = record
        return Manifest(manifest_path)

    def _lock(self) -> None:
        """Hold OUT for this process: a second run writing the same dataset would lose records."""
        self.path.mkdir(parents=True, exist_ok=True)
        handle = (self.path / LOCK).open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            handle.close()
            raise DatasetError(
                f"another run is writing {self.path}; wait for it to end, or use another --out"
            ) from err
        self._lock_handle = handle  # released when the process ends

    def remember_review_bag(self, path: Path) -> None:
        """Record the review bag just written, so a later run of this dataset may replace it."""
        assert self.record is not None, "prepare() writes the record first"
        self.record["review_bag"] = str(path.resolve())
        write_json(self.path / RECORD, self.record)


def bag_bytes(path: Path) -> int:
    """The size of a bag (file, or every file of a bag folder): tells a re-recorded bag of the same name."""
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def check_review_bag(path: Path, folder: DatasetFolder) -> bool:
    """Whether ``--out-bag`` is free (False) or is this dataset's own earlier review bag (True);
    anything else there is refused."""
    if not os.path.lexists(path):
        return False
    ours = folder.review_bag is not None and folder.review_bag == path.resolve()
    if ours and path.is_dir() and {p.suffix for p in path.iterdir()} <= {".yaml", ".mcap"}:
        return True
    raise DatasetError(
        f"--out-bag {path} already exists and is not a review bag this dataset wrote; choose a new path "
        "(bag_label never replaces files it did not write)"
    )


def replace_review_bag(path: Path, write: Callable[[Path], object]) -> None:
    """Write a new review bag beside this dataset's old one, then swap them: the old one goes only once
    the new one is complete. Staging folders an interrupted swap left (our names only) are cleared."""
    ours = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.next")
    for leftover in path.parent.iterdir():
        if ours.fullmatch(leftover.name) and leftover.is_dir():
            shutil.rmtree(leftover)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".next", dir=path.parent))
    try:
        write(staging / path.name)
        path.rename(staging / "previous")
        (staging / path.name).rename(path)
    finally:
        shutil.rmtree(staging)


def _read_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path} cannot be read ({err}); is the folder a dataset of this tool?") from err
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise DatasetError(f"{path} is not a {FORMAT} record; label into a new --out")
    if record.get("version") != VERSION:
        raise DatasetError(f"{path} has record version {record.get('version')}; this release reads {VERSION}")
    return record


def _stream_key(bag: str, topic: str) -> str:
    return f"{bag} {topic}"


def _key(record: ManifestRecord) -> tuple[str, str, int]:
    return record.bag, record.topic, record.stamp_ns


def _files_exist(root: Path, record: ManifestRecord, settings: DatasetSettings) -> bool:
    paths = frame_files(record.camera, record.stamp_ns, settings.image_format, settings.color).values()
    return all((root / relative).is_file() for relative in paths)


def _remove_temporaries(folder: Path) -> None:
    """Delete the temporary files an interrupted run of ours left (our naming only, never listed)."""
    if not folder.is_dir():
        return
    candidates = folder.glob(".*.tmp") if folder.name not in FRAME_FOLDERS else folder.rglob(".*.tmp")
    for leftover in candidates:
        if TEMPORARY.fullmatch(leftover.name) and leftover.is_file():
            leftover.unlink()
