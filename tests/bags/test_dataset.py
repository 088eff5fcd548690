"""The dataset writer: atomic files, the append-only manifest and its repair, splits by bag."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from warp_refine_ros.bags.dataset import (
    FrameFiles,
    Manifest,
    ManifestRecord,
    StreamFrame,
    read_manifest,
    split_by_bag,
)
from warp_refine_ros.bags.keyframes import camera_name, keyframes_from_directory
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.propagation import Labeling


def labeling(offset: int = 2) -> Labeling:
    labels = np.array([[0, 13], [255, 5]], np.uint8)
    return Labeling(labels, np.array([[255, 128], [0, 255]], np.uint8), 100, offset)


def test_frame_files_are_written_where_the_record_says(tmp_path, spec):
    files = FrameFiles(tmp_path, spec, "warp-inpaint", image_format="jpg", color=True)
    image = np.full((2, 2, 3), (10, 200, 30), np.uint8)
    frame = StreamFrame("drive.mcap", "/front/image_raw", "front_image_raw", "front_image_raw", 123)
    record = files.write(frame, image, labeling())
    assert record.image == "images/front_image_raw/123.jpg" and record.offset == 2
    assert record.confidence_mean == pytest.approx((255 + 128 + 255) / 4 / 255, abs=1e-4)
    assert np.array_equal(cv2.imread(str(tmp_path / record.label), cv2.IMREAD_UNCHANGED), labeling().labels)
    assert cv2.imread(str(tmp_path / record.confidence), cv2.IMREAD_UNCHANGED)[0, 1] == 128
    assert (tmp_path / "color/front_image_raw/123.png").is_file()
    assert not list(tmp_path.rglob("*.tmp"))


def test_manifest_appends_and_drops_a_line_cut_short(tmp_path):
    path = tmp_path / "manifest.jsonl"
    manifest = Manifest(path)
    record = ManifestRecord("b", "/t", "t", 1, "i", "l", "c", 1, 0, "motion-only", 1.0)
    manifest.append(record)
    manifest.close()
    with path.open("a") as handle:
        handle.write('{"bag": "b", "topic"')  # the process died mid-line
    assert read_manifest(path) == [record]
    reopened = Manifest(path)
    reopened.close()
    assert path.read_text().count("\n") == 1 and path.read_text().endswith("}\n")


def test_foreign_manifest_lines_are_named(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_text(json.dumps({"file": "x"}) + "\n")
    with pytest.raises(DatasetError, match=r"manifest.jsonl:1: not a manifest record"):
        read_manifest(path)


def test_split_keeps_each_bag_on_one_side_and_is_stable():
    records = [
        ManifestRecord(f"drive{b}", "/t", "t", s, f"i{b}{s}", f"l{b}{s}", "c", 0, 0, "m", 1.0)
        for b in range(5)
        for s in range(3)
    ]
    sides = split_by_bag(records, 0.4)
    assert len(sides["val"]) == 2 and not set(sides["val"]) & set(sides["train"])
    assert split_by_bag(records[::-1], 0.4) == sides
    more = [*records, ManifestRecord("drive9", "/t", "t", 0, "i", "l", "c", 0, 0, "m", 1.0)]
    moved = set(sides["val"]) - set(split_by_bag(more, 0.4)["val"])
    assert len(moved) <= 1  # adding a bag moves at most one bag across
    with pytest.raises(DatasetError, match="at least two bags"):
        split_by_bag(records[:3], 0.5)


def test_keyframe_directory_layouts_and_errors(tmp_path, spec):
    assert camera_name("/front/image_raw") == "front_image_raw"
    flat = tmp_path / "flat"
    flat.mkdir()
    cv2.imwrite(str(flat / "100.png"), np.zeros((2, 2), np.uint8))
    assert keyframes_from_directory(flat, ["cam"], spec)["cam"].stamps == [100]
    with pytest.raises(DatasetError, match=r"one sub-directory per camera; .*front_image_raw is missing"):
        keyframes_from_directory(flat, ["front_image_raw", "rear_image_raw"], spec)
    cv2.imwrite(str(flat / "frame_7.png"), np.zeros((2, 2), np.uint8))
    with pytest.raises(DatasetError, match=r"frame_7.png: keyframe labels must be named <stamp_ns>.png"):
        keyframes_from_directory(flat, ["cam"], spec)
    with pytest.raises(DatasetError, match="does not exist"):
        keyframes_from_directory(tmp_path / "nope", ["cam"], spec)
