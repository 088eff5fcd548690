"""review_export: the weakest frames as a CVAT task, corrected and fed back as keyframes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import cv2
import pytest

from warp_refine_ros.bags.cvat import MaskDecoder
from warp_refine_ros.bags.dataset import ManifestRecord, read_manifest
from warp_refine_ros.cli import review_export
from warp_refine_ros.exports.weak_frames import pick_weak_frames
from warp_refine_ros.labels import read_label_png

from .conftest import CAMERA, RADIUS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cvat"


def export(capsys, dataset: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    status = review_export.main([str(dataset), "--out", str(out), *extra, "--no-progress"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def frame_files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for d in ("images", "labels", "confidence")
        for p in (out / d).rglob("*.png")
    }


def record(stamp: int, confidence: float, offset: int = 1) -> ManifestRecord:
    return ManifestRecord("bag", "/cam", "cam", stamp, "i", "l", "c", 0, offset, "warp-refine", confidence)


def test_weak_stretches_give_one_frame_each():
    """Frames 10..19 are weak (the weakest at 14), 40..44 less so, everything else strong."""
    confidence = {i: 0.9 for i in range(60)} | {i: 0.2 + abs(i - 14) / 100 for i in range(10, 20)}
    confidence |= {i: 0.5 + abs(i - 42) / 100 for i in range(40, 45)} | {0: 0.0}  # 0: a keyframe
    records = [record(i, c, offset=0 if i == 0 else 1) for i, c in confidence.items()]
    picked = pick_weak_frames(records, 3, spacing=5)
    assert [r.stamp_ns for r in picked] == [14, 42, 1]  # then the strong frames tie: the earliest
    assert [r.stamp_ns for r in pick_weak_frames(records, 3, spacing=0)] == [14, 13, 15]


def test_the_task_holds_the_propagated_labels_in_cvats_layout(tmp_path, labeled, capsys, spec):
    status, printed, _ = export(capsys, labeled.dataset, tmp_path / "review", "--count", "2")
    assert status == 0 and "cam_image_raw: 2 frames" in printed
    task = tmp_path / "review" / CAMERA
    assert (task / "labelmap.txt").read_bytes() == (FIXTURES / "spec" / "labelmap.txt").read_bytes()
    records = {r.stamp_ns: r for r in read_manifest(labeled.dataset / "manifest.jsonl")}
    picked = [
        json.loads(line) for line in (tmp_path / "review" / "weak_frames.jsonl").read_text().splitlines()
    ]
    stamps = sorted(p["stamp_ns"] for p in picked)
    assert (task / "ImageSets" / "Segmentation" / "default.txt").read_text().split() == list(map(str, stamps))
    propagated = [r for r in records.values() if r.offset != 0]
    assert picked[0]["confidence_mean"] == min(r.confidence_mean for r in propagated)
    decoder = MaskDecoder(task / "labelmap.txt", spec)
    for stamp in stamps:
        mask = task / "SegmentationClass" / f"{stamp}.png"
        assert (
            decoder.decode(mask).tobytes() == read_label_png(labeled.dataset / records[stamp].label).tobytes()
        )
        image = task / "JPEGImages" / f"{stamp}.png"
        assert os.stat(image).st_ino == os.stat(labeled.dataset / records[stamp].image).st_ino  # a hard link
    names = zipfile.ZipFile(task / "annotations.zip").namelist()
    assert sorted(names) == sorted(
        [
            "labelmap.txt",
            "ImageSets/Segmentation/default.txt",
            *(f"SegmentationClass/{s}.png" for s in stamps),
        ]
    )


def test_a_corrected_task_fed_back_relabels_exactly_its_windows(tmp_path, labeled, capsys, spec):
    assert export(capsys, labeled.dataset, tmp_path / "review", "--count", "2")[0] == 0
    task = tmp_path / "review" / CAMERA
    stamps = [int(line) for line in (task / "ImageSets" / "Segmentation" / "default.txt").read_text().split()]
    corrected = task / "SegmentationClass" / f"{stamps[0]}.png"
    pixels = cv2.imread(str(corrected), cv2.IMREAD_COLOR)
    pixels[40:60, 10:50] = spec.classes[13].color[::-1]  # the labeler paints a car (BGR on disk)
    cv2.imwrite(str(corrected), pixels)
    # what CVAT's export gives back, unpacked into the keyframe folder beside the id PNGs
    keyframes = Path(shutil.copytree(labeled.keyframes, tmp_path / "corrected"))
    with zipfile.ZipFile(task / "annotations.zip", "w") as archive:
        for path in [task / "labelmap.txt", *sorted((task / "SegmentationClass").iterdir())]:
            archive.write(path, path.relative_to(task).as_posix())
    zipfile.ZipFile(task / "annotations.zip").extractall(keyframes)
    before = frame_files(labeled.dataset)
    printed = labeled.relabel(keyframes, labeled.dataset, capsys)
    assert "2 added, 0 changed, 0 removed" in printed
    after = frame_files(labeled.dataset)
    index = {frame.stamp_ns: frame.index for frame in labeled.drive.frames}
    near = {s for s in index if any(abs(index[s] - index[k]) <= RADIUS for k in stamps)}
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    assert changed and {int(Path(name).stem) for name in changed} <= near
    assert all(after[n] == before[n] for n in before if int(Path(n).stem) not in near)
    records = {r.stamp_ns: r for r in read_manifest(labeled.dataset / "manifest.jsonl")}
    assert records[stamps[0]].offset == 0
    decoded = MaskDecoder(task / "labelmap.txt", spec).decode(corrected)
    assert read_label_png(labeled.dataset / records[stamps[0]].label).tobytes() == decoded.tobytes()
    assert (decoded[40:60, 10:50] == 13).all()
    clean = tmp_path / "clean"
    labeled.relabel(keyframes, clean, capsys)
    assert frame_files(clean) == after


def test_bad_requests_are_named(tmp_path, labeled, capsys):
    with pytest.raises(SystemExit) as refused:  # argparse's own exit, before any work
        export(capsys, labeled.dataset, tmp_path / "r", "--count", "0")
    err = capsys.readouterr().err
    assert refused.value.code == 2 and "argument --count/-k: need a whole number of 1 or more, got 0" in err
    status, _, err = export(capsys, tmp_path, tmp_path / "r", "--count", "2")
    assert status == 2 and f"error: {tmp_path} holds no dataset.json" in err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    status, _, err = export(capsys, labeled.dataset, tmp_path / "full", "--count", "2")
    assert status == 2 and "already exists and is not an empty folder" in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    status, _, err = export(capsys, labeled.dataset, tmp_path / "r", "--count", "30")
    assert status == 0 and "note: only 4 propagated frames are more than 3 frames apart" in err


DATUMARO = os.environ.get("DATUMARO_PYTHON")
LOAD = """
import json, sys
import numpy as np
from datumaro.components.dataset import Dataset
from datumaro.components.annotation import AnnotationType
dataset = Dataset.import_from(sys.argv[1], sys.argv[2])
names = [c.name for c in dataset.categories()[AnnotationType.label]]
items = {}
for item in dataset:
    labels = {names[a.label]: int(np.count_nonzero(a.image)) for a in item.annotations}
    items[item.id] = {"labels": labels, "image": item.media.path, "size": list(item.media.data.shape)}
print(json.dumps(items))
"""


@pytest.mark.skipif(not DATUMARO, reason="set DATUMARO_PYTHON to a Python with datumaro (it pins OpenCV < 5)")
def test_datumaro_reads_the_task(tmp_path, labeled, capsys, spec):
    """CVAT imports 'Segmentation mask 1.1' with its Datumaro's 'voc', whose segmentation part is this
    'voc_segmentation' reader (PyPI's 'voc' reads ImageSets/Main only)."""
    assert export(capsys, labeled.dataset, tmp_path / "review", "--count", "3")[0] == 0
    task = tmp_path / "review" / CAMERA
    run = subprocess.run(
        [DATUMARO, "-c", LOAD, str(task), "voc_segmentation"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    items = json.loads(run.stdout)
    records = {str(r.stamp_ns): r for r in read_manifest(labeled.dataset / "manifest.jsonl")}
    assert len(items) == 3
    for stem, item in items.items():
        assert item["image"] == str(task / "JPEGImages" / f"{stem}.png") and item["size"] == [72, 96, 3]
        counts = item["labels"]
        ids = read_label_png(labeled.dataset / records[stem].label)
        expected = {c.name: int((ids == c.id).sum()) for c in spec.classes if (ids == c.id).any()}
        if (ids == spec.ignore_id).any():
            expected["background"] = int((ids == spec.ignore_id).sum())
        assert {name: n for name, n in counts.items() if n} == expected
