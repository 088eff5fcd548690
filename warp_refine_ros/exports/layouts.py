"""Where each frame goes in a trainer's layout, and the files that describe the layout.

- ``mmseg``: ``img_dir/<split>/<stem><ext>``, ``ann_dir/<split>/<stem>.png`` and ``<split>.txt`` of
  stems, as mmsegmentation's BaseSegDataset reads them (stem = ``<bag>/<camera>/<stamp_ns>``).
- ``cityscapes``: ``leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png`` and
  ``gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png`` for the 19 Cityscapes
  classes: city = the bag's name without its storage suffix, ``_`` and ``.`` turned to ``-``; seq =
  the camera's number in the sorted camera names; frame = the frame's number in its stream.
- ``hf``: a Hugging Face ``imagefolder``: ``<split>/metadata.jsonl`` with ``file_name`` (image),
  ``label_file_name`` and ``confidence_file_name`` (PNGs under ``<split>/``) and the frame's bag, topic,
  camera, stamp and offset; ``id2label.json`` names the label values (255 = ignore).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from warp_refine_ros.bags.dataset import ManifestRecord
from warp_refine_ros.errors import DatasetError, LabelError
from warp_refine_ros.fileio import atomic_write
from warp_refine_ros.labels import LabelSpec

Placed = list[tuple[ManifestRecord, "Placement"]]


@dataclass(frozen=True)
class Placement:
    """Where one frame's files go, relative to the export: image, label and any other of its PNGs."""

    image: str
    label: str
    others: dict[str, str] = field(default_factory=dict)  # manifest field -> path


class Layout(Protocol):
    """One trainer's layout: what it accepts, where frames go, what describes them."""

    png_images: bool  # the layout names images .png whatever the dataset holds

    def prepare(self, spec: LabelSpec, records: Sequence[ManifestRecord]) -> None:
        """Refuse what the layout cannot hold; learn what naming needs of all the frames."""

    def place(self, side: str, record: ManifestRecord) -> Placement: ...

    def describe(self, out: Path, spec: LabelSpec, placed: dict[str, Placed]) -> None: ...


def stem(record: ManifestRecord) -> str:
    """``<bag>/<camera>/<stamp_ns>``: unique per frame even where two bags share stamps."""
    return f"{record.bag}/{record.camera}/{record.stamp_ns}"


def check_train_ids(spec: LabelSpec, layout: str) -> None:
    """Trainers of these layouts read a label value as a class index: ids must be 0..C-1."""
    if not np.array_equal(np.sort(spec.ids), np.arange(spec.num_classes)):
        raise LabelError(
            f"the {layout} layout reads label values as class indices 0..{spec.num_classes - 1}; this "
            f"dataset's class ids are {sorted(spec.ids.tolist())}: relabel with a class spec numbered 0..C-1"
        )


class MmsegLayout:
    png_images = False

    def prepare(self, spec: LabelSpec, records: Sequence[ManifestRecord]) -> None:
        check_train_ids(spec, "mmseg")

    def place(self, side: str, record: ManifestRecord) -> Placement:
        suffix = Path(record.image).suffix
        return Placement(f"img_dir/{side}/{stem(record)}{suffix}", f"ann_dir/{side}/{stem(record)}.png")

    def describe(self, out: Path, spec: LabelSpec, placed: dict[str, Placed]) -> None:
        for side, frames in placed.items():
            atomic_write(out / f"{side}.txt", "".join(f"{stem(r)}\n" for r, _ in frames).encode())


class CityscapesLayout:
    png_images = True

    def __init__(self) -> None:
        self._seq: dict[str, int] = {}
        self._frame: dict[tuple[str, str, int], int] = {}
        self._city: dict[str, str] = {}

    def prepare(self, spec: LabelSpec, records: Sequence[ManifestRecord]) -> None:
        cityscapes = LabelSpec.default()
        if spec.ids.tolist() != cityscapes.ids.tolist() or spec.names != cityscapes.names:
            raise LabelError(
                "the cityscapes layout holds Cityscapes' 19 train classes (gtFine labelTrainIds); this "
                f"dataset's classes are {', '.join(spec.names)}: export it as --format mmseg or hf"
            )
        self._seq = {camera: n for n, camera in enumerate(sorted({r.camera for r in records}))}
        streams: dict[tuple[str, str], list[int]] = defaultdict(list)
        for r in records:
            streams[(r.bag, r.topic)].append(r.stamp_ns)
        for (bag, topic), stamps in streams.items():
            self._frame |= {(bag, topic, s): n for n, s in enumerate(sorted(stamps))}
        bags = sorted({r.bag for r in records})
        self._city = {bag: re.sub(r"[_.\s]+", "-", re.sub(r"\.(bag|mcap|db3)$", "", bag)) for bag in bags}
        if len(set(self._city.values())) < len(bags):
            same = [b for b in bags if list(self._city.values()).count(self._city[b]) > 1]
            raise DatasetError(
                f"bags {same} give the same Cityscapes city name; rename the bags (cities are bag names "
                "with '_' and '.' turned to '-')"
            )

    def place(self, side: str, record: ManifestRecord) -> Placement:
        city = self._city[record.bag]
        seq, frame = self._seq[record.camera], self._frame[(record.bag, record.topic, record.stamp_ns)]
        core = f"{city}/{city}_{seq:06d}_{frame:06d}"
        return Placement(
            f"leftImg8bit/{side}/{core}_leftImg8bit.png", f"gtFine/{side}/{core}_gtFine_labelTrainIds.png"
        )

    def describe(self, out: Path, spec: LabelSpec, placed: dict[str, Placed]) -> None:
        pass  # the layout is the names; frames.jsonl maps them back to bags and stamps


class HuggingFaceLayout:
    png_images = False

    def prepare(self, spec: LabelSpec, records: Sequence[ManifestRecord]) -> None:
        pass  # id2label names any ids

    def place(self, side: str, record: ManifestRecord) -> Placement:
        suffix = Path(record.image).suffix
        return Placement(
            f"{side}/images/{stem(record)}{suffix}",
            f"{side}/labels/{stem(record)}.png",
            {"confidence": f"{side}/confidence/{stem(record)}.png"},
        )

    def describe(self, out: Path, spec: LabelSpec, placed: dict[str, Placed]) -> None:
        for side, frames in placed.items():
            rows = [json.dumps(_metadata_row(side, record, where)) + "\n" for record, where in frames]
            atomic_write(out / side / "metadata.jsonl", "".join(rows).encode())
        id2label = {str(c.id): c.name for c in spec.classes}
        atomic_write(out / "id2label.json", (json.dumps(id2label, indent=2) + "\n").encode())


def _metadata_row(side: str, record: ManifestRecord, where: Placement) -> dict:
    """One imagefolder row: files relative to the split folder, ``*_file_name`` columns load as images."""
    inside = lambda path: path.removeprefix(f"{side}/")  # noqa: E731
    return {
        "file_name": inside(where.image),
        "label_file_name": inside(where.label),
        "confidence_file_name": inside(where.others["confidence"]),
        "bag": record.bag,
        "topic": record.topic,
        "camera": record.camera,
        "stamp_ns": record.stamp_ns,
        "offset": record.offset,
        "confidence_mean": record.confidence_mean,
    }


LAYOUTS: dict[str, type[Layout]] = {
    "mmseg": MmsegLayout,
    "cityscapes": CityscapesLayout,
    "hf": HuggingFaceLayout,
}
