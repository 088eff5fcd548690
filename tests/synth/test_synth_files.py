"""write_drive: the bag (mcap, sqlite3, ROS 1), keyframe and truth PNGs, read back as a user would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

from warp_refine_ros.bags.images import decode_compressed, decode_image, decode_label, header_stamp_ns
from warp_refine_ros.labels import LabelSpec, read_label_png
from warp_refine_ros.synth import DriveConfig, SynthError, render_drive, write_drive
from warp_refine_ros.synth import files as synth_files
from warp_refine_ros.synth.classes import Class
from warp_refine_ros.synth.specs import CAMVID, spec_table

CONFIG = DriveConfig(width=160, height=120, frames=12, seed=21)


@pytest.fixture(scope="module")
def rendered():
    return render_drive(CONFIG)


def read_bag(path: Path) -> dict[str, list[tuple[int, object]]]:
    """topic -> [(log time, message)] in order."""
    out: dict[str, list[tuple[int, object]]] = {}
    with AnyReader([path], default_typestore=get_typestore(Stores.ROS2_HUMBLE)) as reader:
        for connection, log_ns, raw in reader.messages():
            out.setdefault(connection.topic, []).append((log_ns, reader.deserialize(raw, connection.msgtype)))
    return out


@pytest.mark.parametrize(("storage", "suffix"), [("mcap", ".mcap"), ("sqlite3", ".db3"), ("ros1", ".bag")])
def test_bag_and_labels_read_back(tmp_path: Path, rendered, storage: str, suffix: str) -> None:
    files = write_drive(tmp_path, CONFIG, keyframe_every=5, storage=storage, label_topic="/camera/labels")
    stamps = [CONFIG.stamp_ns(i) for i in range(CONFIG.frames)]
    assert files.stamps_ns == tuple(stamps)
    assert files.keyframe_stamps_ns == (stamps[0], stamps[5], stamps[10])
    if storage == "ros1":
        assert files.bag == tmp_path / "drive.bag" and files.bag.is_file()
    else:
        assert files.bag == tmp_path / "drive" and (files.bag / f"drive{suffix}").is_file()

    topics = read_bag(files.bag)
    assert sorted(topics) == ["/camera/image_raw", "/camera/labels"]
    images, labels = topics["/camera/image_raw"], topics["/camera/labels"]
    assert [log for log, _ in images] == [header_stamp_ns(msg) for _, msg in images] == stamps
    for (_, msg), frame in zip(images, rendered.frames, strict=True):
        assert msg.encoding == "rgb8" and msg.header.frame_id == "camera"
        np.testing.assert_array_equal(decode_image(msg), frame.image)
    assert [header_stamp_ns(msg) for _, msg in labels] == list(files.keyframe_stamps_ns)
    for (_, msg), index in zip(labels, (0, 5, 10), strict=True):
        np.testing.assert_array_equal(decode_label(msg), rendered.frames[index].labels)

    assert sorted(p.name for p in files.keyframes.iterdir()) == [f"{s}.png" for s in files.keyframe_stamps_ns]
    assert sorted(p.name for p in files.truth.iterdir()) == [f"{s}.png" for s in stamps]
    for frame in rendered.frames:
        np.testing.assert_array_equal(read_label_png(files.truth / f"{frame.stamp_ns}.png"), frame.labels)
    np.testing.assert_array_equal(
        read_label_png(files.keyframes / f"{stamps[5]}.png"), rendered.frames[5].labels
    )
    assert LabelSpec.from_yaml(files.classes) == LabelSpec.default()


@pytest.mark.parametrize("encoding", ["bgr8", "mono8", "jpeg", "png"])
def test_other_encodings(tmp_path: Path, rendered, encoding: str) -> None:
    config = DriveConfig(width=160, height=120, frames=3, seed=21)
    files = write_drive(tmp_path, config, encoding=encoding, topic="/front/image")
    messages = [msg for _, msg in read_bag(files.bag)["/front/image"]]
    assert len(messages) == 3
    for msg, frame in zip(messages, rendered.frames, strict=False):
        if encoding in ("jpeg", "png"):
            assert msg.format == encoding
            decoded = decode_compressed(msg)
        else:
            assert msg.encoding == encoding
            decoded = decode_image(msg)
        error = np.abs(decoded.astype(int) - frame.image.astype(int))
        if encoding in ("bgr8", "png"):
            assert error.max() == 0
        elif encoding == "mono8":
            assert np.abs(decoded[..., 0].astype(int) - frame.image.mean(axis=2)).mean() < 8
        else:
            assert error.mean() < 4


def test_jpeg_quality(tmp_path: Path, rendered) -> None:
    config = DriveConfig(width=160, height=120, frames=2, seed=21)
    sizes, errors = [], []
    for quality in (95, 30):
        files = write_drive(tmp_path / str(quality), config, encoding="jpeg", jpeg_quality=quality)
        messages = [msg for _, msg in read_bag(files.bag)["/camera/image_raw"]]
        sizes.append(sum(len(msg.data) for msg in messages))
        decoded = decode_compressed(messages[1])
        errors.append(np.abs(decoded.astype(int) - rendered.frames[1].image.astype(int)).mean())
    assert sizes[1] < 0.6 * sizes[0] and errors[1] > errors[0]


def test_camvid_labels(tmp_path: Path, rendered) -> None:
    files = write_drive(tmp_path, CONFIG, keyframe_every=5, label_spec="camvid", label_topic="/labels")
    spec = LabelSpec.from_yaml(files.classes)
    assert spec == LabelSpec(CAMVID) and spec.num_classes == 11
    assert spec.names == [
        "sky", "building", "pole", "road", "sidewalk", "tree", "sign symbol", "fence", "car",
        "pedestrian", "bicyclist",
    ]  # fmt: skip
    _, table = spec_table("camvid")
    for frame in rendered.frames:
        truth = read_label_png(files.truth / f"{frame.stamp_ns}.png")
        spec.validate(truth, shape=frame.labels.shape)
        np.testing.assert_array_equal(truth, table[frame.labels])
        np.testing.assert_array_equal(truth == 3, frame.labels == Class.ROAD)
    keyframe = read_label_png(files.keyframes / f"{files.keyframe_stamps_ns[1]}.png")
    np.testing.assert_array_equal(keyframe, table[rendered.frames[5].labels])
    topic = [decode_label(msg) for _, msg in read_bag(files.bag)["/labels"]]
    np.testing.assert_array_equal(topic[2], table[rendered.frames[10].labels])


def test_every_cityscapes_class_has_one_camvid_class() -> None:
    spec, table = spec_table("camvid")
    mapped = table[[int(c) for c in Class]]
    assert set(mapped.tolist()) == set(spec.ids.tolist()), "every CamVid class is reached, none is ignore"
    assert (table[[c for c in range(256) if c not in set(Class)]] == spec.ignore_id).all()
    _, identity = spec_table("cityscapes")
    assert (identity[[int(c) for c in Class]] == [int(c) for c in Class]).all()


def test_a_failed_render_leaves_no_bag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(config):
        yield from list(render_drive(DriveConfig(width=160, height=120, frames=2)).frames)
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(synth_files, "iter_drive", failing)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        write_drive(tmp_path, CONFIG)
    assert not (tmp_path / "drive").exists()
    assert not list(tmp_path.iterdir()), "no temporary, label or class spec left behind"


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(SynthError, match="keyframe_every=0"):
        write_drive(tmp_path, CONFIG, keyframe_every=0)
    with pytest.raises(SynthError, match="unknown encoding 'rgb16'"):
        write_drive(tmp_path, CONFIG, encoding="rgb16")
    with pytest.raises(SynthError, match="jpeg_quality=0"):
        write_drive(tmp_path, CONFIG, encoding="jpeg", jpeg_quality=0)
    with pytest.raises(SynthError, match="unknown label spec 'ade'"):
        write_drive(tmp_path, CONFIG, label_spec="ade")
    with pytest.raises(SynthError, match="must differ"):
        write_drive(tmp_path, CONFIG, label_topic="/camera/image_raw")
    write_drive(tmp_path, DriveConfig(width=160, height=120, frames=1))
    with pytest.raises(SynthError, match="already holds a drive"):
        write_drive(tmp_path, DriveConfig(width=160, height=120, frames=1))
