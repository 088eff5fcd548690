"""export_dataset: the mmsegmentation, Cityscapes and Hugging Face layouts, checked by their readers' rules.

mmsegmentation does not install beside this package's pins: its BaseSegDataset.load_data_list and
cityscapesScripts' getCsFileInfo are restated below from their sources, and the exports must satisfy
them. The Hugging Face folder is loaded with ``datasets`` itself.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from warp_refine_ros.bags.dataset import read_manifest, split_by_bag
from warp_refine_ros.cli import export_dataset
from warp_refine_ros.errors import LabelError
from warp_refine_ros.exports.layouts import CityscapesLayout, MmsegLayout
from warp_refine_ros.labels import LabelSpec, read_label_png

from .conftest import label_drives


def export(capsys, dataset: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    status = export_dataset.main([str(dataset), "--out", str(out), *extra, "--no-progress"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def mmseg_data_list(root: Path, img_dir: str, ann_dir: str, ann_file: str, img_suffix: str, seg_suffix: str):
    """mmseg 1.x BaseSegDataset.load_data_list: stems from ``ann_file``, or every image under img_dir."""
    img_dir, ann_dir = root / img_dir, root / ann_dir
    if ann_file:
        names = [line.strip() for line in (root / ann_file).read_text().splitlines()]
        return [(img_dir / f"{name}{img_suffix}", ann_dir / f"{name}{seg_suffix}") for name in names]
    images = sorted(str(p.relative_to(img_dir)) for p in img_dir.rglob(f"*{img_suffix}"))
    return [(img_dir / image, ann_dir / image.replace(img_suffix, seg_suffix)) for image in images]


def cs_file_info(path: Path) -> tuple[str, ...]:
    """cityscapesScripts' getCsFileInfo: (city, seq, frame, type, type2, ext) or it exits."""
    parts = path.name.split("_")
    parts = parts[:-1] + parts[-1].split(".")
    assert len(parts) in (5, 6), f"{path.name}: {len(parts)} parts, Cityscapes names have 5 or 6"
    return (*parts[:-1], "", parts[-1]) if len(parts) == 5 else tuple(parts)


def truth_of(dataset: Path) -> dict[tuple[str, int], bytes]:
    """Each frame's label ids in the dataset, by (bag, stamp)."""
    return {
        (r.bag, r.stamp_ns): read_label_png(dataset / r.label).tobytes()
        for r in read_manifest(dataset / "manifest.jsonl")
    }


def index_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]


def test_mmseg_layout_loads_by_both_of_mmsegs_rules(tmp_path, three_bags, capsys, spec):
    out = tmp_path / "mmseg"
    status, printed, _ = export(capsys, three_bags.dataset, out, "--format", "mmseg", "--split", "0.34")
    assert status == 0 and "hard-linked, 0 copied" in printed
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask  # an ordinary folder, not a private staging one
    records = read_manifest(three_bags.dataset / "manifest.jsonl")
    truth, sides = truth_of(three_bags.dataset), split_by_bag(records, 0.34)
    index = {(e["split"], e["label"]): e for e in index_of(out)}
    for side in ("train", "val"):
        listed = mmseg_data_list(out, f"img_dir/{side}", f"ann_dir/{side}", f"{side}.txt", ".png", ".png")
        scanned = mmseg_data_list(out, f"img_dir/{side}", f"ann_dir/{side}", "", ".png", ".png")
        assert sorted(listed) == scanned and len(listed) == sum(r.bag in sides[side] for r in records)
        for image, seg_map in listed:
            entry = index[(side, str(seg_map.relative_to(out)))]
            assert entry["bag"] in sides[side]
            assert read_label_png(seg_map).tobytes() == truth[(entry["bag"], entry["stamp_ns"])]
            assert os.stat(image).st_nlink > 1  # shared with the dataset, not a second copy


def test_cityscapes_layout_parses_as_cityscapes_names(tmp_path, three_bags, capsys):
    out = tmp_path / "cityscapes"
    assert export(capsys, three_bags.dataset, out, "--format", "cityscapes", "--split", "0.34")[0] == 0
    truth = truth_of(three_bags.dataset)
    index = {e["image"]: e for e in index_of(out)}
    cities = set()
    for side in ("train", "val"):
        pairs = mmseg_data_list(
            out, f"leftImg8bit/{side}", f"gtFine/{side}", "", "_leftImg8bit.png", "_gtFine_labelTrainIds.png"
        )  # mmseg's CityscapesDataset
        assert pairs
        for image, label in pairs:
            city, seq, frame, kind, kind2, ext = cs_file_info(image)
            assert (kind, kind2, ext) == ("leftImg8bit", "", "png") and image.parent.name == city
            assert cs_file_info(label) == (city, seq, frame, "gtFine", "labelTrainIds", "png")
            assert len(seq) == len(frame) == 6 and seq == "000000"  # one camera
            entry = index[str(image.relative_to(out))]
            assert read_label_png(label).tobytes() == truth[(entry["bag"], entry["stamp_ns"])]
            cities.add(city)
    assert cities == {"drive-a", "drive-b", "drive-c"}


def test_cityscapes_images_are_pngs_even_from_a_jpeg_dataset(tmp_path, capsys):
    labeled = label_drives(tmp_path, ["drive"], capsys, "--image-format", "jpg")
    out = tmp_path / "cityscapes"
    assert export(capsys, labeled.dataset, out, "--format", "cityscapes", "--split", "0")[0] == 0
    images = sorted((out / "leftImg8bit" / "train" / "drive").iterdir())
    assert len(images) == len(read_manifest(labeled.dataset / "manifest.jsonl"))
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in images)


def test_hugging_face_folder_loads_with_datasets(tmp_path, three_bags, capsys, spec, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "hf"
    assert export(capsys, three_bags.dataset, out, "--format", "hf", "--split", "0.34")[0] == 0
    loaded = datasets.load_dataset("imagefolder", data_dir=str(out), cache_dir=str(tmp_path / "cache"))
    records = read_manifest(three_bags.dataset / "manifest.jsonl")
    sides = split_by_bag(records, 0.34)
    assert set(loaded) == {"train", "validation"}
    truth = truth_of(three_bags.dataset)
    for split, side in (("train", "train"), ("validation", "val")):
        rows = loaded[split]
        assert len(rows) == sum(r.bag in sides[side] for r in records)
        assert {"image", "label", "confidence", "bag", "topic", "camera", "stamp_ns", "offset"} <= set(
            rows.features
        )
        for row in rows.select(range(0, len(rows), 7)):
            assert row["bag"] in sides[side] and row["image"].size == (96, 72)
            assert np.asarray(row["label"]).tobytes() == truth[(row["bag"], row["stamp_ns"])]
    id2label = json.loads((out / "id2label.json").read_text())
    assert {int(k): v for k, v in id2label.items()} == {c.id: c.name for c in spec.classes}


def test_requests_that_cannot_work_are_named_and_leave_nothing(tmp_path, labeled, capsys):
    status, _, err = export(capsys, labeled.dataset, tmp_path / "out", "--format", "mmseg")
    assert status == 2 and "at least two bags" in err and "give --split 0 to export every frame" in err
    status, _, err = export(capsys, labeled.dataset, tmp_path / "out", "--format", "mmseg", "--split", "1")
    assert status == 2 and "--split takes the validation fraction in [0, 1)" in err
    record = read_manifest(labeled.dataset / "manifest.jsonl")[5]
    (labeled.dataset / record.label).unlink()
    status, _, err = export(capsys, labeled.dataset, tmp_path / "out", "--format", "hf", "--split", "0")
    assert status == 2 and f"{labeled.dataset / record.label} is listed in" in err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") or p.name == "out"]


def test_layouts_refuse_class_specs_their_trainers_misread(spec):
    gappy = LabelSpec.from_dict(
        {"classes": [{"id": 0, "name": "a", "color": [1, 2, 3]}, {"id": 7, "name": "b", "color": [4, 5, 6]}]}
    )
    with pytest.raises(LabelError, match=r"class indices 0\.\.1; this dataset's class ids are \[0, 7\]"):
        MmsegLayout().prepare(gappy, [])
    with pytest.raises(LabelError, match="Cityscapes' 19 train classes"):
        CityscapesLayout().prepare(gappy, [])
    MmsegLayout().prepare(spec, [])


MMSEG = os.environ.get("MMSEG_PYTHON")


@pytest.mark.skipif(not MMSEG, reason="set MMSEG_PYTHON to a Python with mmsegmentation and mmengine")
def test_mmsegmentation_reads_both_exports(tmp_path, three_bags, capsys):
    """mmsegmentation's own BaseSegDataset (by split file and by scan) and CityscapesDataset."""
    for layout in ("mmseg", "cityscapes"):
        assert (
            export(capsys, three_bags.dataset, tmp_path / layout, "--format", layout, "--split", "0.34")[0]
            == 0
        )
    script = Path(__file__).with_name("mmseg_load.py")
    run = subprocess.run(
        [MMSEG, str(script), str(tmp_path / "mmseg"), str(tmp_path / "cityscapes")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    for layout in ("mmseg", "cityscapes"):
        for side in ("train", "val"):
            labels = sorted(
                str(tmp_path / layout / e["label"]) for e in index_of(tmp_path / layout) if e["split"] == side
            )
            for key in [k for k in found if k.startswith(f"{layout} {side}")]:
                assert sorted(found[key]) == labels, key
