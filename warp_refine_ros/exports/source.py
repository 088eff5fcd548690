"""A dataset bag_label wrote, opened read-only for an export: its records, class spec and settings.

Paths come from manifest.jsonl, the dataset's list of frames; nothing is rebuilt from stamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warp_refine_ros.bags.dataset import ManifestRecord, read_manifest, split_by_bag
from warp_refine_ros.bags.dataset_record import RECORD, read_record
from warp_refine_ros.errors import DatasetError, UsageError
from warp_refine_ros.labels import LabelSpec

SIDES = ("train", "val")


@dataclass(frozen=True)
class DatasetSource:
    """One dataset: where it is, its frames (manifest order), classes and the settings it was made with."""

    root: Path
    records: list[ManifestRecord]
    spec: LabelSpec
    radius: int

    def path(self, relative: str) -> Path:
        """A file the manifest lists, which must exist."""
        path = self.root / relative
        if not path.is_file():
            raise DatasetError(
                f"{path} is listed in {self.root / 'manifest.jsonl'} but missing; rerun bag_label on the "
                "dataset to write it again"
            )
        return path


def open_dataset(root: Path) -> DatasetSource:
    """Read a dataset bag_label wrote (refusing any other folder) without changing it."""
    if not (root / RECORD).is_file():
        raise DatasetError(f"{root} holds no {RECORD}: give the --out folder of a bag_label run")
    record = read_record(root)
    records = read_manifest(root / "manifest.jsonl")
    if not records:
        raise DatasetError(f"{root / 'manifest.jsonl'} lists no frame; label some with bag_label first")
    return DatasetSource(
        root, records, LabelSpec.from_yaml(root / "classes.yaml"), record["settings"]["radius"]
    )


def split_records(records: list[ManifestRecord], val_fraction: float) -> dict[str, list[ManifestRecord]]:
    """Frames for train and val by bag, by bag_label's --split rule; 0 puts every frame in train."""
    if not 0 <= val_fraction < 1:
        raise UsageError(f"--split takes the validation fraction in [0, 1), got {val_fraction}")
    if val_fraction == 0:
        return {"train": list(records), "val": []}
    try:
        sides = split_by_bag(records, val_fraction)
    except DatasetError as err:
        raise DatasetError(f"{err}; give --split 0 to export every frame for training") from err
    return {side: [r for r in records if r.bag in set(sides[side])] for side in SIDES}
