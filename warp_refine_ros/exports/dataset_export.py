"""A dataset in a trainer's layout (see layouts.py): frames placed by hard link, split by bag, indexed.

``OUT/frames.jsonl`` lists every exported frame: its split, files in the export, bag, topic, camera
and stamp, so a file of any layout leads back to its frame.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
from tqdm import tqdm

from warp_refine_ros.bags.dataset import ManifestRecord, encode
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.exports.files import Linker, staged_folder
from warp_refine_ros.exports.layouts import Layout, Placed, Placement
from warp_refine_ros.exports.source import DatasetSource
from warp_refine_ros.fileio import atomic_write

INDEX = "frames.jsonl"


def write_dataset(
    source: DatasetSource,
    layout: Layout,
    sides: dict[str, list[ManifestRecord]],
    out: Path,
    *,
    progress: bool = True,
) -> Linker:
    """Write the frames of each split into the new folder ``out`` in ``layout``."""
    layout.prepare(source.spec, [r for records in sides.values() for r in records])
    linker = Linker()
    with staged_folder(out) as staging:
        placed: dict[str, Placed] = {}
        for side, records in sides.items():
            if not records:
                continue
            placed[side] = [(record, layout.place(side, record)) for record in records]
            for record, where in tqdm(
                placed[side], desc=f"export {side}", unit="frame", disable=not progress
            ):
                _place_frame(source, layout, record, where, staging, linker)
        layout.describe(staging, source.spec, placed)
        lines = [
            json.dumps(_index_line(side, r, where)) + "\n"
            for side, frames in placed.items()
            for r, where in frames
        ]
        atomic_write(staging / INDEX, "".join(lines).encode())
    return linker


def _place_frame(
    source: DatasetSource, layout: Layout, record: ManifestRecord, where: Placement, out: Path, linker: Linker
) -> None:
    image = source.path(record.image)
    if layout.png_images and image.suffix.lower() != ".png":  # a JPEG dataset, in a layout of PNG names
        pixels = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if pixels is None:
            raise DatasetError(f"{image} cannot be read as an image; rerun bag_label on the dataset")
        atomic_write(out / where.image, encode(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB), ".png"))
    else:
        linker.place(image, out / where.image)
    linker.place(source.path(record.label), out / where.label)
    for name, path in where.others.items():
        linker.place(source.path(getattr(record, name)), out / path)


def _index_line(side: str, record: ManifestRecord, where: Placement) -> dict:
    return {
        "split": side,
        "image": where.image,
        "label": where.label,
        "bag": record.bag,
        "topic": record.topic,
        "camera": record.camera,
        "stamp_ns": record.stamp_ns,
    }
