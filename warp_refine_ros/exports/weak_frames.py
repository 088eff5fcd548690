"""The frames whose propagated labels are least trustworthy, as a CVAT task to correct them in.

Frames are ranked by mean confidence (the dataset's confidence PNGs, as manifest.jsonl records it);
keyframes are left out. A frame is taken only if no frame taken from its stream lies within
``spacing`` frames of it (by default the dataset's radius: a weak stretch gives one frame, and each
correction becomes a keyframe whose window holds no other). Per camera the task is a CVAT
"Segmentation mask 1.1" export with the propagated labels as pre-annotations::

    OUT/<camera>/labelmap.txt                       the class spec's labels and colours
    OUT/<camera>/SegmentationClass/<stamp_ns>.png   the propagated labels in colour
    OUT/<camera>/ImageSets/Segmentation/default.txt
    OUT/<camera>/JPEGImages/<stamp_ns>.png|jpg      the images, to create the task from
    OUT/<camera>/annotations.zip                    the above without images, for "Upload annotations"
    OUT/weak_frames.jsonl                           each frame taken: bag, topic, stamp, confidence

Named by header stamp, the export CVAT gives back after correction is a keyframe folder for --labels.
"""

from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from warp_refine_ros.bags.cvat import (
    IMAGES,
    LABELMAP,
    MASKS,
    SUBSET_LISTS,
    labelmap_of,
    painter,
    write_labelmap,
)
from warp_refine_ros.bags.dataset import ManifestRecord, encode
from warp_refine_ros.exports.files import Linker, staged_folder
from warp_refine_ros.exports.source import DatasetSource
from warp_refine_ros.fileio import atomic_write
from warp_refine_ros.labels import read_label_png

SUBSET = "default"
PICKED = "weak_frames.jsonl"


def pick_weak_frames(records: Iterable[ManifestRecord], count: int, spacing: int) -> list[ManifestRecord]:
    """Up to ``count`` propagated frames, least confident first, none within ``spacing`` frames of another
    of its stream, nor on a stamp already taken for its camera (a keyframe folder holds one label a stamp).

    Distances are counted in the dataset's frames of a stream, which never exceed those in the bag.
    """
    records = list(records)
    stamps: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in records:
        stamps[(r.bag, r.topic)].append(r.stamp_ns)
    position = {key: {s: i for i, s in enumerate(sorted(values))} for key, values in stamps.items()}
    taken: dict[tuple[str, str], list[int]] = defaultdict(list)
    used: set[tuple[str, int]] = set()
    picked = []
    for r in sorted(records, key=lambda r: (r.confidence_mean, r.bag, r.topic, r.stamp_ns)):
        if len(picked) == count:
            break
        here = position[(r.bag, r.topic)][r.stamp_ns]
        near = any(abs(here - other) <= spacing for other in taken[(r.bag, r.topic)])
        if r.offset == 0 or near or (r.camera, r.stamp_ns) in used:
            continue
        picked.append(r)
        taken[(r.bag, r.topic)].append(here)
        used.add((r.camera, r.stamp_ns))
    return picked


def write_review_task(
    source: DatasetSource, picked: list[ManifestRecord], out: Path, *, progress: bool = True
) -> Linker:
    """The CVAT task of ``picked`` frames at the new folder ``out`` (see the module's layout)."""
    colors = painter(source.spec)  # a spec whose colours would not read back is refused before writing
    cameras: dict[str, list[ManifestRecord]] = defaultdict(list)
    for record in sorted(picked, key=lambda r: (r.camera, r.stamp_ns)):
        cameras[record.camera].append(record)
    linker = Linker()
    with staged_folder(out) as staging:
        for camera, records in cameras.items():
            folder = staging / camera
            write_labelmap(_mkdir(folder) / LABELMAP, labelmap_of(source.spec))
            for record in tqdm(records, desc=f"review task {camera}", unit="frame", disable=not progress):
                label_path = source.path(record.label)
                labels = source.spec.validate(read_label_png(label_path), name=str(label_path))
                atomic_write(folder / MASKS / f"{record.stamp_ns}.png", encode(colors[labels], ".png"))
                image = source.path(record.image)
                linker.place(image, folder / IMAGES / f"{record.stamp_ns}{image.suffix}")
            subset = "".join(f"{r.stamp_ns}\n" for r in records)
            atomic_write(folder / SUBSET_LISTS / f"{SUBSET}.txt", subset.encode())
            _zip_annotations(folder)
        lines = [json.dumps(_pick_line(r)) + "\n" for r in picked]
        atomic_write(staging / PICKED, "".join(lines).encode())
    return linker


def _mkdir(folder: Path) -> Path:
    folder.mkdir(parents=True)
    return folder


def _zip_annotations(folder: Path) -> None:
    """annotations.zip: labelmap, subset list and masks, the archive CVAT's annotation upload takes."""
    files = [
        folder / LABELMAP,
        *sorted((folder / SUBSET_LISTS).iterdir()),
        *sorted((folder / MASKS).iterdir()),
    ]
    with zipfile.ZipFile(folder / "annotations.zip", "w", zipfile.ZIP_STORED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder).as_posix())


def _pick_line(record: ManifestRecord) -> dict:
    return {
        "camera": record.camera,
        "stamp_ns": record.stamp_ns,
        "bag": record.bag,
        "topic": record.topic,
        "confidence_mean": record.confidence_mean,
        "keyframe_stamp_ns": record.keyframe_stamp_ns,
        "offset": record.offset,
    }
