"""Worker processes and Ray write the same dataset as one process."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from warp_refine_ros.bags.dataset import read_manifest
from warp_refine_ros.cli import bag_label


def label(bags, kf, out, engines, *extra) -> int:
    args = [
        *bags,
        "--image-topic",
        "/cam/image_raw",
        "--labels",
        kf,
        "--out",
        out,
        "--method",
        "warp-inpaint",
    ]
    return bag_label.main(
        [*map(str, args), "--engines", str(engines), "--radius", "3", "--no-progress", *extra]
    )


def assert_same_dataset(a, b) -> None:
    records_a = sorted(read_manifest(a / "manifest.jsonl"), key=lambda r: (r.bag, r.stamp_ns))
    records_b = sorted(read_manifest(b / "manifest.jsonl"), key=lambda r: (r.bag, r.stamp_ns))
    assert records_a == records_b and records_a
    for record in records_a:
        for relative in (record.label, record.confidence):
            assert np.array_equal(cv2.imread(str(a / relative), -1), cv2.imread(str(b / relative), -1))


@pytest.fixture
def two_bags(tmp_path, tiny_drive):
    bags = [tiny_drive.write_bag(tmp_path, name=name) for name in ("drive_a", "drive_b")]
    return bags, tiny_drive.write_keyframes(tmp_path / "kf")


def test_worker_processes_match_one_process(tmp_path, two_bags, random_engines):
    bags, kf = two_bags
    assert label(bags, kf, tmp_path / "one", random_engines) == 0
    assert label(bags, kf, tmp_path / "pool", random_engines, "--workers", "2") == 0
    assert_same_dataset(tmp_path / "one", tmp_path / "pool")


def test_local_ray_with_two_workers_matches_one_process(tmp_path, two_bags, random_engines):
    pytest.importorskip("ray", reason="Ray is the optional 'cluster' extra")
    bags, kf = two_bags
    assert label(bags, kf, tmp_path / "one", random_engines) == 0
    assert label(bags, kf, tmp_path / "ray", random_engines, "--ray", "--workers", "2") == 0
    assert_same_dataset(tmp_path / "one", tmp_path / "ray")
