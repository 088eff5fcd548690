"""Review bags: compressed topics Foxglove and RViz read, exact labels, nothing at the path replaced."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.highlevel import AnyReader

from warp_refine_ros.bags.dataset import ManifestRecord
from warp_refine_ros.bags.images import decode_compressed
from warp_refine_ros.bags.review import review_topics, write_review_bag
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.labels import overlay

TOPIC = "/front/image_raw"


def write_dataset(root: Path, frames) -> list[ManifestRecord]:
    """A dataset folder with the drive's frames, their true labels and a confidence ramp."""
    records = []
    for frame in frames:
        names = {
            kind: f"{kind}/front_image_raw/{frame.stamp_ns}.png" for kind in ("images", "labels", "conf")
        }
        for name in names.values():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
        confidence = np.tile(
            np.linspace(0, 255, frame.labels.shape[1]).astype(np.uint8), (frame.labels.shape[0], 1)
        )
        cv2.imwrite(str(root / names["images"]), cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / names["labels"]), frame.labels)
        cv2.imwrite(str(root / names["conf"]), confidence)
        records.append(
            ManifestRecord(
                bag="drive",
                topic=TOPIC,
                camera="front_image_raw",
                stamp_ns=frame.stamp_ns,
                image=names["images"],
                label=names["labels"],
                confidence=names["conf"],
                keyframe_stamp_ns=frame.stamp_ns,
                offset=0,
                method="warp-refine",
                confidence_mean=0.5,
            )
        )
    return records


def read_review(path: Path) -> dict[str, list[tuple[str, object]]]:
    """topic -> [(message type, message)] in recording order."""
    found: dict[str, list[tuple[str, object]]] = {}
    with AnyReader([path]) as reader:
        for connection, _, raw in reader.messages():
            msg = reader.deserialize(raw, connection.msgtype)
            found.setdefault(connection.topic, []).append((connection.msgtype, msg))
    return found


def test_topics_follow_image_transport_naming() -> None:
    expected = ["/front/image_raw", "/front/labels", "/front/labels_color", "/front/confidence"]
    assert review_topics("/front/image_raw") == [f"{t}/compressed" for t in expected]
    # a camera recorded as image_transport's compressed topic keeps the same review topics
    assert review_topics("/front/image_raw/compressed") == review_topics("/front/image_raw")
    assert review_topics("/image") == [
        f"{t}/compressed" for t in ("/image", "/labels", "/labels_color", "/confidence")
    ]


def test_review_bag_is_compressed_and_keeps_labels_exact(tmp_path, spec, tiny_drive) -> None:
    frames = tiny_drive.frames[:4]
    records = write_dataset(tmp_path / "ds", frames)
    assert write_review_bag(tmp_path / "ds", records, tmp_path / "review", spec, progress=False) == 4
    found = read_review(tmp_path / "review")
    image_topic, labels_topic, color_topic, confidence_topic = review_topics(TOPIC)
    assert sorted(found) == sorted(review_topics(TOPIC))
    for topic, fmt in [
        (image_topic, "jpeg"),
        (labels_topic, "png"),
        (color_topic, "jpeg"),
        (confidence_topic, "png"),
    ]:
        messages = found[topic]
        assert [t for t, _ in messages] == ["sensor_msgs/msg/CompressedImage"] * 4
        assert {msg.format for _, msg in messages} == {fmt}  # what Foxglove and image_transport both read
        assert [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for _, m in messages] == [
            f.stamp_ns for f in frames
        ]
        assert {m.header.frame_id for _, m in messages} == {"front_image_raw"}
    for index, frame in enumerate(frames):
        labels = cv2.imdecode(np.asarray(found[labels_topic][index][1].data), cv2.IMREAD_UNCHANGED)
        confidence = cv2.imdecode(np.asarray(found[confidence_topic][index][1].data), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(labels, frame.labels)  # class ids survive: PNG is lossless
        np.testing.assert_array_equal(
            confidence[0], np.linspace(0, 255, frame.labels.shape[1]).astype(np.uint8)
        )
        image = decode_compressed(found[image_topic][index][1])
        colored = decode_compressed(found[color_topic][index][1])
        assert np.abs(image.astype(int) - frame.image).mean() < 6  # JPEG at quality 90
        expected_overlay = overlay(frame.image, spec.colorize(frame.labels))
        assert np.abs(colored.astype(int) - expected_overlay).mean() < 6
    raw_bytes = sum(f.image.nbytes * 2 + f.labels.nbytes * 2 for f in frames)  # rgb8 x 2, mono8 x 2
    assert sum(p.stat().st_size for p in (tmp_path / "review").iterdir()) < raw_bytes / 2


@pytest.mark.parametrize("kind", ["folder", "file", "empty folder", "dangling link"])
def test_never_writes_over_anything_at_the_path(tmp_path, spec, tiny_drive, kind) -> None:
    records = write_dataset(tmp_path / "ds", tiny_drive.frames[:2])
    path = tmp_path / "review"
    if kind == "folder":
        path.mkdir()
        (path / "notes.txt").write_text("mine")
    elif kind == "file":
        path.write_text("mine")
    elif kind == "empty folder":
        path.mkdir()
    else:
        path.symlink_to(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=f"{path} already exists.*choose another --out-bag"):
        write_review_bag(tmp_path / "ds", records, path, spec, progress=False)
    if kind == "folder":
        assert (path / "notes.txt").read_text() == "mine"
    elif kind == "file":
        assert path.read_text() == "mine"
    elif kind == "empty folder":
        assert list(path.iterdir()) == []
    else:
        assert path.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "review"]


def test_a_bad_dataset_file_is_named_and_leaves_no_bag(tmp_path, spec, tiny_drive) -> None:
    records = write_dataset(tmp_path / "ds", tiny_drive.frames[:3])
    wrong = tmp_path / "ds" / records[1].label
    cv2.imwrite(str(wrong), np.zeros((5, 7), np.uint8))  # a label of another size than its image
    with pytest.raises(DatasetError, match=rf"{wrong}: expected a one-channel 8-bit 96x72 PNG"):
        write_review_bag(tmp_path / "ds", records, tmp_path / "review", spec, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no bag, no half-written temporary


def test_jpeg_quality_is_the_callers(tmp_path, spec, tiny_drive) -> None:
    records = write_dataset(tmp_path / "ds", tiny_drive.frames[:2])
    sizes = []
    for quality in (30, 95):
        path = tmp_path / f"review{quality}"
        write_review_bag(tmp_path / "ds", records, path, spec, progress=False, jpeg_quality=quality)
        found = read_review(path)
        sizes.append({topic: sum(len(m.data) for _, m in found[topic]) for topic in review_topics(TOPIC)})
    low, high = sizes
    image, labels, colored, confidence = review_topics(TOPIC)
    assert low[image] < high[image] / 2 and low[colored] < high[colored] / 2
    assert (low[labels], low[confidence]) == (high[labels], high[confidence])  # PNG has no quality
