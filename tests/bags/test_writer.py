"""ImageBagWriter: every encoding and compressed format in every storage, read back with rosbags."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

from warp_refine_ros.bags.images import decode_compressed, decode_image, decode_label
from warp_refine_ros.bags.writer import (
    ENCODINGS,
    STORAGES,
    ImageBagWriter,
    bag_path,
    compress_image,
    encode_image,
)
from warp_refine_ros.errors import BagError

STAMP = 1_700_000_123_456_789_012


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (6, 10, 3), dtype=np.uint8)


def read_all(path: Path) -> list[tuple[str, str, int, object]]:
    """(topic, msgtype, log time, message) of every message, in log-time order."""
    with AnyReader([path], default_typestore=get_typestore(Stores.ROS2_HUMBLE)) as reader:
        return [
            (c.topic, c.msgtype, t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages()
        ]


def stamp_of(msg: object) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def pixels(msg: object) -> np.ndarray:
    """Decode an Image message by hand: its bytes in the declared layout."""
    dtype = np.dtype("<u2") if msg.encoding == "mono16" else np.dtype(np.uint8)
    data = np.frombuffer(bytes(msg.data), dtype=dtype)
    channels = msg.step // (msg.width * dtype.itemsize)
    return (
        data.reshape(msg.height, msg.width, channels).squeeze(-1)
        if channels == 1
        else data.reshape(msg.height, msg.width, channels)
    )


def expected(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """What each encoding must hold, computed independently of the writer."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    alpha = np.full((*rgb.shape[:2], 1), 255, np.uint8)
    if encoding.startswith("bayer_"):
        pattern = encoding[len("bayer_") : -1]
        mosaic = np.empty(rgb.shape[:2], np.uint8)
        for dy in (0, 1):
            for dx in (0, 1):
                channel = "rgb".index(pattern[2 * dy + dx])
                mosaic[dy::2, dx::2] = rgb[dy::2, dx::2, channel]
        return mosaic
    return {
        "rgb8": rgb,
        "bgr8": rgb[..., ::-1],
        "rgba8": np.concatenate([rgb, alpha], axis=2),
        "bgra8": np.concatenate([rgb[..., ::-1], alpha], axis=2),
        "mono8": grey,
        "mono16": grey.astype(np.uint16) * 257,
    }[encoding]


@pytest.mark.parametrize("storage", STORAGES)
def test_every_encoding_round_trips(tmp_path: Path, storage: str, rgb: np.ndarray) -> None:
    path = bag_path(tmp_path, "cam", storage)
    with ImageBagWriter(path, storage=storage) as writer:
        for encoding in ENCODINGS:
            writer.write(f"/cam/{encoding}", STAMP, rgb, encoding=encoding, frame_id="cam_optical")
    messages = read_all(path)
    assert sorted(topic for topic, *_ in messages) == sorted(f"/cam/{e}" for e in ENCODINGS)
    for topic, msgtype, log_ns, msg in messages:
        encoding = topic.rsplit("/", 1)[1]
        assert msgtype == "sensor_msgs/msg/Image"
        assert (msg.encoding, msg.height, msg.width, msg.is_bigendian) == (encoding, 6, 10, 0)
        assert log_ns == stamp_of(msg) == STAMP
        assert msg.header.frame_id == "cam_optical"
        np.testing.assert_array_equal(pixels(msg), expected(rgb, encoding), err_msg=encoding)
        if encoding in ("rgb8", "bgr8", "rgba8", "bgra8"):  # the package's own reader gets the frame back
            np.testing.assert_array_equal(decode_image(msg), rgb, err_msg=encoding)


@pytest.mark.parametrize("storage", STORAGES)
def test_compressed_images(tmp_path: Path, storage: str, rgb: np.ndarray) -> None:
    smooth = cv2.resize(rgb, (80, 48), interpolation=cv2.INTER_CUBIC)  # jpeg is made for smooth images
    path = bag_path(tmp_path, "cam", storage)
    with ImageBagWriter(path, storage=storage) as writer:
        writer.write_compressed("/cam/png", STAMP, smooth, fmt="png")
        writer.write_compressed("/cam/jpeg", STAMP + 1, smooth, fmt="jpeg", quality=95)
    messages = {topic: (msgtype, msg) for topic, msgtype, _, msg in read_all(path)}
    png_type, png = messages["/cam/png"]
    jpeg_type, jpeg = messages["/cam/jpeg"]
    assert png_type == jpeg_type == "sensor_msgs/msg/CompressedImage"
    assert (png.format, jpeg.format) == ("png", "jpeg")
    assert (stamp_of(png), stamp_of(jpeg)) == (STAMP, STAMP + 1)
    np.testing.assert_array_equal(decode_compressed(png), smooth)
    error = np.abs(decode_compressed(jpeg).astype(int) - smooth.astype(int)).mean()
    assert error < 3.0


@pytest.mark.parametrize("storage", STORAGES)
def test_label_images_keep_their_ids(tmp_path: Path, storage: str) -> None:
    ids = np.array([[0, 1, 2], [13, 255, 18]], np.uint8)
    path = bag_path(tmp_path, "labels", storage)
    with ImageBagWriter(path, storage=storage) as writer:
        writer.write("/labels8", STAMP, ids, encoding="mono8")
        writer.write("/labels16", STAMP, ids, encoding="mono16")
    messages = {topic: msg for topic, _, _, msg in read_all(path)}
    for topic in ("/labels8", "/labels16"):
        np.testing.assert_array_equal(pixels(messages[topic]), ids)
        np.testing.assert_array_equal(decode_label(messages[topic]), ids)


def test_stamps_order_and_ros1_sequence(tmp_path: Path, rgb: np.ndarray) -> None:
    path = bag_path(tmp_path, "seq", "ros1")
    stamps = [STAMP + k * 100_000_000 for k in range(3)]
    with ImageBagWriter(path, storage="ros1") as writer:
        for stamp in stamps:
            writer.write("/cam", stamp, rgb)
        writer.write("/cam", STAMP + 10, rgb, log_ns=STAMP + 999)
    assert writer.counts == {"/cam": 4}
    messages = read_all(path)
    assert [stamp_of(msg) for *_, msg in messages] == [*stamps[:1], STAMP + 10, *stamps[1:]]
    assert [log for _, _, log, _ in messages] == [stamps[0], STAMP + 999, *stamps[1:]]
    assert sorted(msg.header.seq for *_, msg in messages) == [0, 1, 2, 3]


@pytest.mark.parametrize("storage", STORAGES)
def test_failure_mid_write_leaves_no_bag(tmp_path: Path, storage: str, rgb: np.ndarray) -> None:
    path = bag_path(tmp_path, "broken", storage)
    with (
        pytest.raises(RuntimeError, match="camera unplugged"),
        ImageBagWriter(path, storage=storage) as writer,
    ):
        writer.write("/cam", STAMP, rgb)
        raise RuntimeError("camera unplugged")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # nor a half-written temporary


def test_writer_error_mid_write_leaves_no_bag(tmp_path: Path, rgb: np.ndarray) -> None:
    path = bag_path(tmp_path, "broken", "mcap")
    with pytest.raises(BagError, match="unknown image encoding 'rgb16'"), ImageBagWriter(path) as writer:
        writer.write("/cam", STAMP, rgb)
        writer.write("/cam", STAMP + 1, rgb, encoding="rgb16")
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite(tmp_path: Path, rgb: np.ndarray) -> None:
    path = bag_path(tmp_path, "taken", "mcap")
    path.mkdir()
    (path / "keep.txt").write_text("mine")
    with pytest.raises(BagError, match="already exists"), ImageBagWriter(path) as writer:
        writer.write("/cam", STAMP, rgb)
    assert (path / "keep.txt").read_text() == "mine"


def test_one_topic_one_message_type(tmp_path: Path, rgb: np.ndarray) -> None:
    conflict = pytest.raises(BagError, match="already carries sensor_msgs/msg/Image")
    with conflict, ImageBagWriter(tmp_path / "bag") as writer:
        writer.write("/cam", STAMP, rgb)
        writer.write_compressed("/cam", STAMP + 1, rgb)
    assert not (tmp_path / "bag").exists()


@pytest.mark.parametrize(
    ("image", "encoding", "match"),
    [
        (np.zeros((4, 4, 4), np.uint8), "rgb8", "expected an RGB"),
        (np.zeros((4, 4, 3), np.float32), "rgb8", "expected an RGB"),
        (np.zeros((4, 4), np.uint16), "rgb8", "only be written as mono16"),
        (np.zeros((4, 4, 3), np.uint8), "yuv422", "unknown image encoding"),
    ],
)
def test_bad_images_are_named(image: np.ndarray, encoding: str, match: str) -> None:
    with pytest.raises(BagError, match=match):
        encode_image(image, encoding)


@pytest.mark.parametrize("quality", [0, 101, -5])
def test_jpeg_quality_out_of_range_is_named(rgb: np.ndarray, quality: int) -> None:
    with pytest.raises(BagError, match=f"JPEG quality must be 1..100, got {quality}"):
        compress_image(rgb, "jpeg", quality)


def test_bad_arguments(tmp_path: Path, rgb: np.ndarray) -> None:
    with pytest.raises(BagError, match="unknown bag storage 'zip'"):
        ImageBagWriter(tmp_path / "b", storage="zip")
    with pytest.raises(BagError, match=r"must be a \.bag file"):
        ImageBagWriter(tmp_path / "b.mcap", storage="ros1")
    with pytest.raises(BagError, match="outside"):
        ImageBagWriter(tmp_path / "b").write("/cam", STAMP, rgb)
    with pytest.raises(BagError, match="negative"), ImageBagWriter(tmp_path / "b") as writer:
        writer.write("/cam", -1, rgb)
    with (
        pytest.raises(BagError, match="unknown compressed format 'gif'"),
        ImageBagWriter(tmp_path / "c") as writer,
    ):
        writer.write_compressed("/cam", STAMP, rgb, fmt="gif")
    assert list(tmp_path.iterdir()) == []
