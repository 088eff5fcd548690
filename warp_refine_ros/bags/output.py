"""bag_label's output folder: whose it is, which settings its labels were made with, what a rerun changes.

A dataset holds one run's settings. ``OUT/dataset.json`` records them (method, radius, tau, the
engines' identities, class spec, image format, overlays, stamp, libraries; see :mod:`dataset_record`)
and, per stream, the bag's size and recording, its folder and a hash of every keyframe label it was
labeled from. A rerun with other settings is refused with the
differences; a rerun whose keyframes changed relabels exactly the frames whose keyframe window
changed (and removes frames no longer within reach of a keyframe), so the result equals a clean run.
A folder that is not empty and holds no ``dataset.json`` is someone else's and is never written to.
"""

from __future__ import annotations

import fcntl
import math
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
    Span,
    frame_files,
    read_manifest,
    rewrite_manifest,
    stream_folder,
)
from warp_refine_ros.bags.dataset_record import (
    FORMAT,
    RECORD,
    VERSION,
    DatasetSettings,
    read_record,
    stream_key,
)
from warp_refine_ros.bags.keyframes import camera_name
from warp_refine_ros.bags.stream_plan import StreamPlan
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.fileio import TEMPORARY, write_json
from warp_refine_ros.labels import LabelSpec

LOCK = ".bag_label.lock"
FRAME_FOLDERS = ("images", "labels", "confidence", "color")
NAMES = (*FRAME_FOLDERS, RECORD, "manifest.jsonl", "classes.yaml", "run.json", "train.txt", "val.txt")
"""What a dataset folder holds; anything else in it (a review bag, notes) is left alone."""


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
    """An output folder: new, or a dataset this tool wrote. :meth:`inspect` and the checks only read it;
    :meth:`prepare` writes it, once every check has passed."""

    path: Path
    record: dict | None = None  # dataset.json, None for a new folder
    changes: list[StreamChange] = field(default_factory=list)
    _lock_handle: object = None

    @classmethod
    def inspect(cls, path: Path) -> DatasetFolder:
        """Check that ``path`` may receive a dataset: absent, empty, or one of ours."""
        if path.exists() and not path.is_dir():
            raise DatasetError(f"--out {path} is a file; give a folder for the dataset")
        if (path / RECORD).is_file():
            return cls(path, read_record(path))
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

    @property
    def bags(self) -> set[str]:
        """The names of the bags the dataset already holds."""
        return {key.rsplit(" ", 1)[0] for key in (self.record or {}).get("streams", {})}

    def check_settings(self, settings: DatasetSettings) -> None:
        """Refuse a rerun whose settings would make other labels than the dataset holds."""
        if self.record is None:
            return
        recorded = DatasetSettings(**self.record["settings"])
        if differences := recorded.differences(settings):
            listing = "\n".join(f"  {line}" for line in differences)
            libraries = {k: v for k, v in recorded.libraries.items() if settings.libraries.get(k, v) != v}
            pins = " ".join(f"{name}=={version}" for name, version in sorted(libraries.items()))
            raise DatasetError(
                f"{self.path} was labeled with other settings than this run's:\n{listing}\n"
                "A dataset holds one run's settings: write these labels to a new --out, or rerun with "
                "the dataset's settings (see its run.json) to continue or extend it"
                + (f"; its libraries: pip install {pins}." if pins else ".")
            )

    def plan_changes(
        self, plans: Iterable[StreamPlan], bag_bytes: dict[str, int], recordings: dict[str, list[str]]
    ) -> list[StreamChange]:
        """Per stream: give it its folder, refuse a changed bag or one the dataset holds under another
        name, and find the frames changed keyframes touch."""
        streams = (self.record or {}).get("streams", {})
        taken = [
            (s["folder"], key.rsplit(" ", 1)[0], _span(s)) for key, s in streams.items() if "folder" in s
        ]
        self.changes = []
        for plan in plans:
            index = plan.index
            known = streams.get(stream_key(index.bag, index.topic))
            self._check_bag(index.bag, known, bag_bytes[index.bag], recordings[index.bag])
            span = (index.stamps[0], index.stamps[-1])
            plan.folder = (known or {}).get("folder") or stream_folder(
                camera_name(index.topic), index.bag, span, taken
            )
            taken.append((plan.folder, index.bag, span))
            if known is None:
                continue
            before = {int(stamp): value for stamp, value in known["keyframes"].items()}
            after = plan.keyframe_hashes
            if before == after:
                continue
            relabel, unlabeled = plan.changes_since(before)
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

    def _check_bag(self, bag: str, known: dict | None, size: int, recording: list[str]) -> None:
        """Refuse a bag that is another recording under a name the dataset knows, or a recording the
        dataset holds under another name (the same bag given as ``d/`` and as ``d/drive.db3``)."""
        if known is not None and (
            known["bag_bytes"] != size or known.get("recording", recording) != recording
        ):
            raise DatasetError(
                f"{self.path} holds labels of a bag {bag} of {known['bag_bytes']} bytes; this {bag} has "
                f"{size} and other contents. Rename one of them: datasets know bags by name."
            )
        for key, stream in (self.record or {}).get("streams", {}).items():
            other = key.rsplit(" ", 1)[0]
            if other != bag and set(stream.get("recording", ())) & set(recording):
                raise DatasetError(
                    f"{bag} is the recording {self.path} already holds as bag {other} (the same bytes); "
                    f"give it as {other} was given, or leave it out"
                )

    def prepare(
        self,
        settings: DatasetSettings,
        spec: LabelSpec,
        plans: Iterable[StreamPlan],
        bag_bytes: dict[str, int],
        recordings: dict[str, list[str]],
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
        record["settings"]["libraries"] = settings.libraries | record["settings"]["libraries"]
        manifest_path = self.path / "manifest.jsonl"
        self._lock()
        if self.record is None:
            write_json(self.path / RECORD, record)
        if not (self.path / "classes.yaml").is_file():
            spec.to_yaml(self.path / "classes.yaml")
        for folder in (self.path, *(self.path / name for name in FRAME_FOLDERS)):
            _remove_temporaries(folder)
        for plan in plans:
            index = plan.index
            record["streams"][stream_key(index.bag, index.topic)] = {
                "bag_bytes": bag_bytes[index.bag],
                "recording": recordings[index.bag],
                "folder": plan.folder,
                "span": [index.stamps[0], index.stamps[-1]],
                "keyframes": {str(stamp): value for stamp, value in sorted(plan.keyframe_hashes.items())},
            }
        folders = {key: stream["folder"] for key, stream in record["streams"].items() if "folder" in stream}
        for change in self.changes:  # files first: a listed frame whose files are gone is redone anyway
            folder = folders[stream_key(change.bag, change.topic)]
            for stamp in change.unlabeled:
                for relative in frame_files(folder, stamp, settings.image_format, settings.color).values():
                    (self.path / relative).unlink(missing_ok=True)
        records = read_manifest(manifest_path, repair=True)
        drop = {(c.bag, c.topic, stamp) for c in self.changes for stamp in c.relabel | c.unlabeled}
        drop |= {_key(r) for r in records if not _files_exist(self.path, r, folders, settings)}
        if drop:
            rewrite_manifest(manifest_path, [r for r in records if _key(r) not in drop])
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
        if self.record is None:  # a caller's bug, not the user's
            raise RuntimeError("remember_review_bag() before prepare(): the dataset has no record yet")
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


def remove_review_staging(path: Path) -> None:
    """Clear what an interrupted review bag left beside ``path``: the writer's ``.NAME.<8>.partial`` and
    a swap's ``.NAME.<8>.next`` folders (our names only; never anything else)."""
    ours = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.(partial|next)")
    if path.parent.is_dir():
        for leftover in path.parent.iterdir():
            if ours.fullmatch(leftover.name) and leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)


def replace_review_bag(path: Path, write: Callable[[Path], object]) -> None:
    """Write a new review bag beside this dataset's old one, then swap them: the old one goes only once
    the new one is complete."""
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".next", dir=path.parent))
    try:
        write(staging / path.name)
        path.rename(staging / "previous")
        (staging / path.name).rename(path)
    finally:
        shutil.rmtree(staging)


def _span(stream: dict) -> Span:
    """A recorded stream's first and last stamp; unknown (a dataset of version 1) overlaps everything."""
    first, last = stream.get("span", (-math.inf, math.inf))
    return first, last


def _key(record: ManifestRecord) -> tuple[str, str, int]:
    return record.bag, record.topic, record.stamp_ns


def _files_exist(
    root: Path, record: ManifestRecord, folders: dict[str, str], settings: DatasetSettings
) -> bool:
    folder = folders[stream_key(record.bag, record.topic)]
    paths = frame_files(folder, record.stamp_ns, settings.image_format, settings.color).values()
    return all((root / relative).is_file() for relative in paths)


def _remove_temporaries(folder: Path) -> None:
    """Delete the temporary files an interrupted run of ours left (our naming only, never listed)."""
    if not folder.is_dir():
        return
    candidates = folder.glob(".*.tmp") if folder.name not in FRAME_FOLDERS else folder.rglob(".*.tmp")
    for leftover in candidates:
        if TEMPORARY.fullmatch(leftover.name) and leftover.is_file():
            leftover.unlink()
