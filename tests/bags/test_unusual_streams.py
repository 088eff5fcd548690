"""Camera streams as real recorders and drivers write them: images out of log order, undecodable images,
drivers that do not stamp, clock glitches, a standing vehicle, resolution changes and tiny images, bags
cut short or without metadata, and Ctrl-C."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from warp_refine_ros.bags import job as label_job
from warp_refine_ros.bags.dataset import read_manifest
from warp_refine_ros.bags.writer import compress_image
from warp_refine_ros.cli import bag_label

TOPIC = "/cam/image_raw"
TYPES = get_typestore(Stores.ROS2_HUMBLE)


def run(capsys, bag, kf, out, *extra, topic=TOPIC):
    args = [str(bag), "--image-topic", topic, "--labels", str(kf), "--out", str(out)]
    status = bag_label.main(
        [*args, "--method", "motion-only", "--radius", "3", "--no-progress", *map(str, extra)]
    )
    captured = capsys.readouterr()
    return status, captured.err, captured.out


def write_messages(path, topic, messages, compressed=False):
    """A bag of (log time, header stamp, data) messages as a recorder wrote them: rgb8 images of 96x72
    (``data`` may be short), or CompressedImage payloads (``data`` may not decode)."""
    msgtype = "sensor_msgs/msg/CompressedImage" if compressed else "sensor_msgs/msg/Image"
    with Writer(path, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection(topic, msgtype, typestore=TYPES)
        for log_ns, stamp_ns, data in messages:
            stamp = TYPES.types["builtin_interfaces/msg/Time"](
                sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9
            )
            header = TYPES.types["std_msgs/msg/Header"](stamp=stamp, frame_id="cam")
            if compressed:
                msg = TYPES.types[msgtype](header=header, format="jpeg", data=data)
            else:
                msg = TYPES.types[msgtype](
                    header=header, height=72, width=96, encoding="rgb8", is_bigendian=0, step=288, data=data
                )
            writer.write(connection, log_ns, TYPES.serialize_cdr(msg, msgtype))
    return path


def pixels(frame):
    return np.ascontiguousarray(frame.image).reshape(-1)


def test_images_recorded_slightly_out_of_order_are_put_in_stamp_order(tmp_path, tiny_drive, capsys):
    frames = tiny_drive.frames
    order = [i for pair in range(0, len(frames) - 1, 2) for i in (pair + 1, pair)]  # every pair swapped
    swapped = [
        (frames[n].stamp_ns + 5_000_000, frames[i].stamp_ns, pixels(frames[i])) for n, i in enumerate(order)
    ]
    write_messages(tmp_path / "swapped", TOPIC, swapped)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    status, err, printed = run(capsys, tmp_path / "swapped", kf, tmp_path / "out")
    assert status == 0 and "warning" not in err and "keyframes: 4 matched, 0 in" in printed
    assert run(capsys, tiny_drive.write_bag(tmp_path), kf, tmp_path / "in_order")[0] == 0
    key = lambda r: r.stamp_ns  # noqa: E731
    ours, theirs = (
        sorted(read_manifest(tmp_path / o / "manifest.jsonl"), key=key) for o in ("out", "in_order")
    )
    assert [(r.stamp_ns, r.offset) for r in ours] == [(r.stamp_ns, r.offset) for r in theirs] and len(
        ours
    ) == 23
    for a, b in zip(ours, theirs, strict=True):
        assert (tmp_path / "out" / a.label).read_bytes() == (tmp_path / "in_order" / b.label).read_bytes()


def test_a_keyframe_whose_image_is_skipped_is_named(tmp_path, tiny_drive, capsys):
    frames = tiny_drive.frames
    glitch = frames[8].stamp_ns + 10**12  # the keyframe's image carries a clock glitch, its label that stamp
    messages = [(f.stamp_ns, glitch if f.index == 8 else f.stamp_ns, pixels(f)) for f in frames]
    write_messages(tmp_path / "glitch", TOPIC, messages)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    (kf / f"{frames[8].stamp_ns}.png").rename(kf / f"{glitch}.png")
    status, err, _ = run(capsys, tmp_path / "glitch", kf, tmp_path / "out")
    assert status == 0
    assert (
        f"warning: glitch {TOPIC}: keyframe {kf / f'{glitch}.png'} labels nothing: its image was skipped"
        in err
    )
    stamps = {r.stamp_ns for r in read_manifest(tmp_path / "out" / "manifest.jsonl")}
    assert len(stamps) == 16 and frames[8].stamp_ns not in stamps  # keyframes 0, 16 and 24 label theirs


@pytest.mark.parametrize("damage", ["jpeg", "short"])
def test_an_undecodable_image_is_left_out_and_its_neighbours_labeled(tmp_path, tiny_drive, capsys, damage):
    frames, bad = tiny_drive.frames, tiny_drive.frames[10]

    def data(frame):
        if damage == "jpeg":
            return np.arange(500, dtype=np.uint8) if frame is bad else compress_image(frame.image, "jpeg")
        return pixels(frame)[:1000] if frame is bad else pixels(frame)

    write_messages(
        tmp_path / "bag", TOPIC, [(f.stamp_ns, f.stamp_ns, data(f)) for f in frames], damage == "jpeg"
    )
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    for attempt in ("first", "rerun"):
        status, err, printed = run(capsys, tmp_path / "bag", kf, tmp_path / "out")
        assert status == 0, err
        assert f"1 images cannot be decoded and were left out (stamp {bad.stamp_ns}: {TOPIC}: " in err
        assert "wrote 22 frames" in printed if attempt == "first" else "wrote 0 frames" in printed
    records = {r.stamp_ns: r for r in read_manifest(tmp_path / "out" / "manifest.jsonl")}
    assert bad.stamp_ns not in records and {frames[9].stamp_ns, frames[11].stamp_ns} <= set(records)
    record = records[frames[11].stamp_ns]  # keyframe 8 reaches 11 across the gap: offsets count frames there
    assert (record.keyframe_stamp_ns, record.offset) == (frames[8].stamp_ns, 2)


def test_a_driver_that_stamps_zero_is_told_of_stamp_log(tmp_path, tiny_drive, capsys):
    frames = tiny_drive.frames
    write_messages(tmp_path / "zero", TOPIC, [(f.stamp_ns, 0, pixels(f)) for f in frames])
    kf = tiny_drive.write_keyframes(tmp_path / "kf")  # the labeler named them by the recording time
    status, err, _ = run(capsys, tmp_path / "zero", kf, tmp_path / "out")
    assert status == 2 and "all 26 header stamps are 0" in err and "rerun with --stamp log" in err
    status, err, _ = run(capsys, tmp_path / "zero", kf, tmp_path / "out", "--stamp", "log")
    assert status == 0, err
    assert {r.stamp_ns for r in read_manifest(tmp_path / "out" / "manifest.jsonl")} <= {
        f.stamp_ns for f in frames
    }
    status, err, _ = run(capsys, tmp_path / "zero", kf, tmp_path / "out")  # the dataset is named by log time
    assert status == 2 and "stamp: log -> header" in err


def test_bags_cut_short_or_without_metadata_get_a_hint(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    storage = next(bag.glob("*.mcap"))
    folder = tmp_path / "no_metadata"
    folder.mkdir()
    shutil.copy(storage, folder / storage.name)
    status, err, _ = run(capsys, folder, kf, tmp_path / "out")
    assert (
        status == 2
        and "has no metadata.yaml" in err
        and f"give the storage file itself instead: {folder / storage.name}" in err
    )
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(storage.read_bytes()[: storage.stat().st_size * 2 // 3])
    status, err, _ = run(capsys, cut, kf, tmp_path / "out")
    assert status == 2 and f"`mcap recover {cut} -o NEW.mcap`" in err


def test_ctrl_c_says_how_to_resume(tmp_path, tiny_drive, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(label_job, "run", interrupted)
    status, err, _ = run(capsys, tiny_drive.write_bag(tmp_path), tmp_path, tmp_path / "out")
    assert status == 130 and "interrupted — rerun the same command to resume" in err


def test_a_change_of_resolution_mid_bag_labels_both_parts(tmp_path, tiny_drive, capsys):
    from warp_refine_ros.bags.writer import ImageBagWriter

    bag = tmp_path / "resized"
    kf = tmp_path / "kf"
    kf.mkdir()
    with ImageBagWriter(bag) as writer:
        for frame in tiny_drive.frames:
            image, labels = frame.image, frame.labels
            if frame.index >= 10:  # the driver switched to a smaller mode
                image = cv2.resize(image, (48, 36), interpolation=cv2.INTER_AREA)
                labels = cv2.resize(labels, (48, 36), interpolation=cv2.INTER_NEAREST)
            writer.write(TOPIC, frame.stamp_ns, image)
            if frame.index in (8, 16):
                cv2.imwrite(str(kf / f"{frame.stamp_ns}.png"), labels)
    status, err, _ = run(capsys, bag, kf, tmp_path / "out")
    assert status == 0, err
    records = read_manifest(tmp_path / "out" / "manifest.jsonl")
    # keyframe 8 reaches 5..9 (not 10, 11: another size), keyframe 16 reaches 13..19
    assert sorted(r.offset for r in records) == sorted([-3, -2, -1, 0, 1, -3, -2, -1, 0, 1, 2, 3])


def test_images_too_small_to_label_are_named(tmp_path, tiny_drive, capsys):
    from warp_refine_ros.bags.writer import ImageBagWriter

    bag = tmp_path / "tiny"
    kf = tmp_path / "kf"
    kf.mkdir()
    with ImageBagWriter(bag) as writer:
        for frame in tiny_drive.frames[:4]:
            writer.write(TOPIC, frame.stamp_ns, frame.image[:7, :30])
    cv2.imwrite(str(kf / f"{tiny_drive.frames[0].stamp_ns}.png"), tiny_drive.frames[0].labels[:7, :30])
    status, err, _ = run(capsys, bag, kf, tmp_path / "out")
    assert (
        status == 2 and "images of 30x7 are too small to label" in err and "8 pixels on the short side" in err
    )
    # the limit is DIS flow's: a method without motion labels them
    status, err, _ = run(capsys, bag, kf, tmp_path / "semantic", "--method", "semantic-only")
    assert status == 0, err
    assert len(read_manifest(tmp_path / "semantic" / "manifest.jsonl")) == 4


def test_one_image_stamped_far_ahead_costs_only_itself(tmp_path, tiny_drive, capsys):
    from warp_refine_ros.bags.writer import ImageBagWriter

    bag = tmp_path / "drive"
    with ImageBagWriter(bag) as writer:
        for frame in tiny_drive.frames:
            stamp = frame.stamp_ns + (10**12 if frame.index == 3 else 0)  # a clock glitch on frame 3
            writer.write(TOPIC, stamp, frame.image, log_ns=frame.stamp_ns)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    status, err, _ = run(capsys, bag, kf, tmp_path / "out")
    assert status == 0 and "1 images out of header stamp order" in err
    stamps = {r.stamp_ns for r in read_manifest(tmp_path / "out" / "manifest.jsonl")}
    assert len(stamps) == 23 and tiny_drive.frames[3].stamp_ns not in stamps  # every later frame is kept
    assert tiny_drive.frames[25].stamp_ns in stamps


def test_a_stationary_drive_keeps_the_keyframes_labels(tmp_path, tiny_drive, capsys, random_engines):
    from warp_refine_ros.bags.writer import ImageBagWriter

    still = tiny_drive.frames[0]
    bag = tmp_path / "still"
    with ImageBagWriter(bag) as writer:
        for frame in tiny_drive.frames[:12]:  # a vehicle waiting at a light: the same picture every frame
            writer.write(TOPIC, frame.stamp_ns, still.image)
    kf = tmp_path / "kf"
    kf.mkdir()
    cv2.imwrite(str(kf / f"{still.stamp_ns}.png"), still.labels)
    for method in ("warp-inpaint", "warp-refine"):
        out = tmp_path / method
        settings = ("--engines", random_engines, "--method", method, "--radius", 10)
        status, err, _ = run(capsys, bag, kf, out, *settings)
        assert status == 0, err
        records = read_manifest(out / "manifest.jsonl")
        assert len(records) == 11
        if method == "warp-inpaint":
            for record in records:
                assert np.array_equal(cv2.imread(str(out / record.label), cv2.IMREAD_UNCHANGED), still.labels)
