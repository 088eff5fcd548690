"""bag_label end to end on bags the tests write: every storage and encoding, resume, bad input, parallel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from warp_refine_ros.bags.dataset import read_manifest
from warp_refine_ros.cli import bag_label
from warp_refine_ros.engines.dis import DisMotion
from warp_refine_ros.propagation import Frame, Method, Propagator, StreamLabeler

RADIUS = 3
PLANNED = 23  # 26 frames, keyframes 0, 8, 16, 24: frames 4, 12 and 20 are more than 3 from any


def label(bags, out, *extra, topics=("/cam/image_raw",), labels=None, method="motion-only", engines=None):
    args = [*map(str, bags), "--out", str(out), "--method", method, "--radius", str(RADIUS), "--no-progress"]
    if engines is not None:
        args += ["--engines", str(engines)]
    for topic in topics:
        args += ["--image-topic", topic]
    if labels is not None:
        args += ["--labels", str(labels)]
    return bag_label.main([*args, *map(str, extra)])


def expected_labels(spec, tiny_drive, images):
    """What StreamLabeler gives on the frames directly: the reference for every bag round trip."""
    labeler = StreamLabeler(Propagator(Method.MOTION_ONLY, spec, motion=DisMotion()), RADIUS)
    out = {}
    for frame, image in zip(tiny_drive.frames, images, strict=True):
        key = frame.labels if frame.index in tiny_drive.keyframe_indices else None
        out.update({lf.frame.stamp_ns: lf.labeling for lf in labeler.push(Frame(image, frame.stamp_ns), key)})
    out.update({lf.frame.stamp_ns: lf.labeling for lf in labeler.finish()})
    return out


def dataset(out):
    records = read_manifest(out / "manifest.jsonl")
    return {r.stamp_ns: r for r in records}, records


@pytest.mark.parametrize(
    ("storage", "encoding"),
    [("mcap", "rgb8"), ("sqlite3", "bgr8"), ("ros1", "rgb8"), ("mcap", "png"), ("ros1", "bgra8")],
)
def test_lossless_bags_give_exactly_the_direct_propagation(tmp_path, spec, tiny_drive, storage, encoding):
    bag = tiny_drive.write_bag(tmp_path, storage, cameras=[("/cam/image_raw", encoding)])
    keyframes = tiny_drive.write_keyframes(tmp_path / "keyframes")
    assert label([bag], tmp_path / "out", labels=keyframes) == 0
    by_stamp, records = dataset(tmp_path / "out")
    expected = expected_labels(spec, tiny_drive, [f.image for f in tiny_drive.frames])
    assert sorted(by_stamp) == sorted(expected) and len(records) == len(expected)
    for stamp, labeling in expected.items():
        record = by_stamp[stamp]
        assert (record.offset, record.keyframe_stamp_ns) == (labeling.offset, labeling.keyframe_stamp_ns)
        written = cv2.imread(str(tmp_path / "out" / record.label), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(written, labeling.labels)
    assert {r.bag for r in records} == {bag.name} and {r.camera for r in records} == {"cam_image_raw"}
    first = records[0]
    assert np.array_equal(
        cv2.imread(str(tmp_path / "out" / first.image))[..., ::-1], tiny_drive.frames[0].image
    )
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["streams"][0]["frames_written"] == len(records)
    assert {"decode", "motion", "write"} <= set(run["timings"]["stages"])


def test_compressed_jpeg_and_mono_bags_are_labeled(tmp_path, tiny_drive):
    for encoding in ("jpeg", "mono8", "bayer_rggb8", "mono16"):
        bag = tiny_drive.write_bag(tmp_path / encoding, "mcap", cameras=[("/cam/image_raw", encoding)])
        keyframes = tiny_drive.write_keyframes(tmp_path / "keyframes")
        assert label([bag], tmp_path / encoding / "out", labels=keyframes) == 0
        _, records = dataset(tmp_path / encoding / "out")
        assert len(records) == PLANNED and records[0].offset == 0


def test_multi_camera_with_label_topics(tmp_path, spec, tiny_drive):
    cameras = [("/front/image_raw", "rgb8"), ("/rear/image", "jpeg")]
    bag = tiny_drive.write_bag(
        tmp_path, "mcap", cameras=cameras, label_topics=["/front/labels", "/rear/labels"]
    )
    args = ["--label-topic", "/front/labels", "--label-topic", "/rear/labels"]
    assert label([bag], tmp_path / "out", *args, topics=[t for t, _ in cameras]) == 0
    _, records = dataset(tmp_path / "out")
    assert {r.camera for r in records} == {"front_image_raw", "rear_image"}
    front = {r.stamp_ns: r for r in records if r.camera == "front_image_raw"}
    expected = expected_labels(spec, tiny_drive, [f.image for f in tiny_drive.frames])
    assert sorted(front) == sorted(expected)
    assert (tmp_path / "out/labels/rear_image").is_dir() and (
        tmp_path / "out/images/front_image_raw"
    ).is_dir()


def test_multi_camera_label_directory_needs_one_folder_per_camera(tmp_path, tiny_drive):
    cameras = [("/front/image_raw", "rgb8"), ("/rear/image", "rgb8")]
    bag = tiny_drive.write_bag(tmp_path, "mcap", cameras=cameras)
    tiny_drive.write_keyframes(tmp_path / "kf" / "front_image_raw", 0)
    tiny_drive.write_keyframes(tmp_path / "kf" / "rear_image", 1)
    assert label([bag], tmp_path / "out", topics=[t for t, _ in cameras], labels=tmp_path / "kf") == 0
    _, records = dataset(tmp_path / "out")
    assert sum(r.camera == "rear_image" for r in records) == PLANNED


def test_rerun_skips_what_is_done_and_outputs_review_bag_and_splits(tmp_path, tiny_drive, capsys):
    bags = [tiny_drive.write_bag(tmp_path, "mcap", name=name) for name in ("drive_a", "drive_b", "drive_c")]
    keyframes = tiny_drive.write_keyframes(tmp_path / "keyframes")
    extra = ["--split", "0.34", "--out-bag", tmp_path / "review"]
    assert label(bags[:2], tmp_path / "out", *extra, labels=keyframes) == 0
    assert label(bags, tmp_path / "out", *extra, labels=keyframes) == 0
    assert f"{2 * PLANNED} already done" in capsys.readouterr().out
    _, records = dataset(tmp_path / "out")
    assert len(records) == 3 * PLANNED and len({(r.bag, r.stamp_ns) for r in records}) == 3 * PLANNED
    val = (tmp_path / "out/val.txt").read_text().splitlines()
    train = (tmp_path / "out/train.txt").read_text().splitlines()
    assert len(val) == PLANNED and len(train) == 2 * PLANNED
    from rosbags.highlevel import AnyReader

    from warp_refine_ros.bags.review import review_topics

    with AnyReader([tmp_path / "review"]) as reader:
        counts = {topic: info.msgcount for topic, info in reader.topics.items()}
    # the three bags share stamps, so the review bag holds each frame of each bag
    assert counts == dict.fromkeys(review_topics("/cam/image_raw"), 69)


def test_resume_after_a_kill_gives_the_uninterrupted_dataset(tmp_path, long_drive, random_engines):
    bag = long_drive.write_bag(tmp_path, "mcap")
    keyframes = long_drive.write_keyframes(tmp_path / "keyframes")
    run = {"labels": keyframes, "method": "warp-inpaint", "engines": random_engines}
    assert label([bag], tmp_path / "whole", **run) == 0
    command = [
        sys.executable, "-m", "warp_refine_ros.cli.bag_label", str(bag), "--image-topic", "/cam/image_raw",
        "--labels", str(keyframes), "--out", str(tmp_path / "killed"), "--method", "warp-inpaint",
        "--radius", str(RADIUS), "--no-progress", "--engines", str(random_engines),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = tmp_path / "killed" / "manifest.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if manifest.exists() and manifest.read_text().count("\n") >= 5:
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    process.wait()
    interrupted = len(read_manifest(manifest))
    assert 0 < interrupted < len(read_manifest(tmp_path / "whole" / "manifest.jsonl")), "kill mid-run"
    assert label([bag], tmp_path / "killed", **run) == 0
    whole, killed = dataset(tmp_path / "whole")[0], dataset(tmp_path / "killed")[0]
    assert sorted(whole) == sorted(killed)
    for stamp, record in whole.items():
        for field in ("label", "confidence", "image"):
            a = cv2.imread(str(tmp_path / "whole" / getattr(record, field)), cv2.IMREAD_UNCHANGED)
            b = cv2.imread(str(tmp_path / "killed" / getattr(killed[stamp], field)), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(a, b), (stamp, field)
    assert not list((tmp_path / "killed").rglob("*.tmp"))  # the rerun cleared what the kill left half-written


def test_validate_estimates_from_the_keyframes_and_records_it(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path, "mcap")
    keyframes = tiny_drive.write_keyframes(tmp_path / "keyframes")
    assert label([bag], tmp_path / "out", "--validate", labels=keyframes) == 0
    printed = capsys.readouterr().out
    assert "keyframe cross-validation: estimated mIoU" in printed and "4 held-out keyframes" in printed
    validation = json.loads((tmp_path / "out" / "run.json").read_text())["validation"]
    assert validation["method"] == "motion-only" and validation["median_frames_travelled"] == 8
    assert 0 < validation["estimated_miou"] < 100
