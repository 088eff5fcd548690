"""Bad input: each gives its message, a non-zero exit and no partial dataset."""

from __future__ import annotations

import cv2
import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from warp_refine_ros.bags.dataset import read_manifest
from warp_refine_ros.cli import bag_label


def run(capsys, *args) -> tuple[int, str]:
    status = bag_label.main([*map(str, args), "--method", "motion-only", "--radius", "3", "--no-progress"])
    return status, capsys.readouterr().err


def test_missing_topic_lists_the_topics_of_the_bag(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    status, err = run(capsys, bag, "--image-topic", "/front/image", "--labels", kf, "--out", tmp_path / "out")
    assert status == 2  # a bad argument: nothing could be labeled
    assert (
        "no image topic '/front/image'; the bag has:\n  /cam/image_raw (sensor_msgs/msg/Image, 26 msgs)"
        in err
    )
    assert not (tmp_path / "out").exists()


def test_unsupported_encoding_names_it_and_the_topic(tmp_path, tiny_drive, capsys):
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    image_type = typestore.types["sensor_msgs/msg/Image"]
    header = typestore.types["std_msgs/msg/Header"]
    stamp_type = typestore.types["builtin_interfaces/msg/Time"]
    with Writer(tmp_path / "float", version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection("/depth", image_type.__msgtype__, typestore=typestore)
        for frame in tiny_drive.frames[:3]:
            stamp = stamp_type(sec=frame.stamp_ns // 10**9, nanosec=frame.stamp_ns % 10**9)
            msg = image_type(header=header(stamp=stamp, frame_id="d"), height=2, width=2, encoding="32FC1",
                             is_bigendian=0, step=8, data=np.zeros(16, np.uint8))  # fmt: skip
            writer.write(connection, frame.stamp_ns, typestore.serialize_cdr(msg, image_type.__msgtype__))
    kf = tmp_path / "kf"
    kf.mkdir()
    cv2.imwrite(str(kf / f"{tiny_drive.frames[0].stamp_ns}.png"), np.zeros((2, 2), np.uint8))
    status, err = run(
        capsys, tmp_path / "float", "--image-topic", "/depth", "--labels", kf, "--out", tmp_path / "o"
    )
    assert status == 2 and "/depth: unsupported image encoding '32FC1'" in err
    assert not (tmp_path / "o").exists()


def test_corrupt_bag_is_reported_and_the_others_are_labeled(tmp_path, tiny_drive, capsys):
    good = tiny_drive.write_bag(tmp_path, name="good")
    bad = tiny_drive.write_bag(tmp_path, name="bad")
    storage = next(bad.glob("*.mcap"))
    storage.write_bytes(storage.read_bytes()[: storage.stat().st_size // 2])  # truncated mid-recording
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    status, err = run(
        capsys, bad, good, "--image-topic", "/cam/image_raw", "--labels", kf, "--out", tmp_path / "o"
    )
    assert status == 1
    assert f"{bad}" in err and "1 of 2 bags failed" in err
    assert {r.bag for r in read_manifest(tmp_path / "o" / "manifest.jsonl")} == {"good"}


def test_keyframe_of_the_wrong_size_is_rejected_by_name(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    wrong = kf / f"{tiny_drive.frames[8].stamp_ns}.png"
    cv2.imwrite(str(wrong), np.zeros((10, 10), np.uint8))
    status, err = run(capsys, bag, "--image-topic", "/cam/image_raw", "--labels", kf, "--out", tmp_path / "o")
    assert status == 2 and f"{wrong}: label is 10x10 but the image is 96x72" in err
    assert not (tmp_path / "o").exists()


def test_keyframe_with_unknown_ids_is_rejected_by_name(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    wrong = kf / f"{tiny_drive.frames[16].stamp_ns}.png"
    cv2.imwrite(str(wrong), np.full((72, 96), 42, np.uint8))
    status, err = run(capsys, bag, "--image-topic", "/cam/image_raw", "--labels", kf, "--out", tmp_path / "o")
    assert status == 2 and f"{wrong}: ids [42] are not in the class spec" in err
    assert not (tmp_path / "o").exists()


def test_no_matching_keyframe_reports_the_nearest_stamps(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    kf = tmp_path / "kf"
    kf.mkdir()
    near = tiny_drive.frames[5].stamp_ns + 2_000_000  # 2 ms late, as a drifting recorder would write
    cv2.imwrite(str(kf / f"{near}.png"), tiny_drive.frames[5].labels)
    args = [bag, "--image-topic", "/cam/image_raw", "--labels", kf, "--out", tmp_path / "o"]
    status, err = run(capsys, *args)
    assert status == 2 and "no keyframe label" in err
    assert f"keyframe {near}: closest image stamp {tiny_drive.frames[5].stamp_ns} (-2.000 ms)" in err
    assert "--stamp-tolerance" in err and not (tmp_path / "o" / "manifest.jsonl").exists()
    status, _ = run(capsys, *args, "--stamp-tolerance", "5")
    assert status == 0 and len(read_manifest(tmp_path / "o" / "manifest.jsonl")) == 7


def test_label_arguments_are_checked(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    status, err = run(
        capsys, bag, "--image-topic", "/a", "--image-topic", "/b", "--label-topic", "/l", "--out", tmp_path
    )
    assert status == 2 and "1 --label-topic for 2 --image-topic" in err
    status, err = run(
        capsys, tmp_path / "nope", "--image-topic", "/a", "--labels", tmp_path, "--out", tmp_path / "o"
    )
    assert status == 2 and "does not exist" in err
    status, err = run(
        capsys, bag, "--image-topic", "/a", "--labels", tmp_path, "--out", tmp_path / "o", "--split", "2"
    )
    assert status == 2 and "--split takes the validation fraction" in err


def test_another_method_into_the_same_output_is_refused(tmp_path, tiny_drive, capsys, random_engines):
    bag = tiny_drive.write_bag(tmp_path)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    args = [bag, "--image-topic", "/cam/image_raw", "--labels", kf, "--out", tmp_path / "o"]
    assert run(capsys, *args)[0] == 0
    status = bag_label.main([*map(str, args), "--method", "warp-inpaint", "--engines", str(random_engines),
                             "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and "was labeled with other settings" in err
    assert "method: motion-only -> warp-inpaint" in err


def test_dry_run_lists_what_would_be_written_and_writes_nothing(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    args = [bag, "--image-topic", "/cam/image_raw", "--labels", kf, "--out", tmp_path / "o", "--dry-run"]
    status = bag_label.main([*map(str, args), "--method", "motion-only", "--radius", "3"])
    out = capsys.readouterr().out
    assert status == 0 and not (tmp_path / "o").exists()
    assert "topic /cam/image_raw  sensor_msgs/msg/Image  26 msgs" in out
    assert (
        "26 images, 4 keyframes matched, 0 unmatched, 23 frames to label (0 already done, 23 to write)" in out
    )
    assert "-3:3  -2:3  -1:3  +0:4  +1:4  +2:3  +3:3" in out
