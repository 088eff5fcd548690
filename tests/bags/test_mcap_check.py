"""Damaged mcap files are named with the byte where the damage is, before any label is made from them."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from warp_refine_ros.bags.dataset import read_manifest
from warp_refine_ros.bags.mcap_check import McapCheck, mcap_files
from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.cli import bag_label
from warp_refine_ros.errors import BagError

CAMERA, OTHER = "/cam/image_raw", "/cam/other"
FRAMES = 12  # 240x180 rgb8 frames: two chunks of rosbags' 1 MiB


def write_bag(path: Path, *, compressed: bool = False) -> Path:
    """A ROS 2 mcap bag with FRAMES images on CAMERA and as many small images on OTHER; its .mcap file."""
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    types = typestore.types
    image, header, time = (
        types["sensor_msgs/msg/Image"],
        types["std_msgs/msg/Header"],
        types["builtin_interfaces/msg/Time"],
    )
    rng = np.random.default_rng(5)
    writer = Writer(path, version=8, storage_plugin=StoragePlugin.MCAP)
    if compressed:
        writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    with writer:
        connections = {
            t: writer.add_connection(t, image.__msgtype__, typestore=typestore) for t in (CAMERA, OTHER)
        }
        for k in range(FRAMES):
            stamp = 1_000_000_000 + k * 100_000_000
            for topic, (height, width) in ((CAMERA, (180, 240)), (OTHER, (4, 4))):
                msg = image(
                    header=header(stamp=time(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id="cam"),
                    height=height, width=width, encoding="rgb8", is_bigendian=0, step=width * 3,
                    data=rng.integers(0, 256, height * width * 3, dtype=np.uint8),
                )  # fmt: skip
                writer.write(connections[topic], stamp, typestore.serialize_cdr(msg, image.__msgtype__))
    return next(path.glob("*.mcap"))


# --- an independent reading of the file layout, to damage it on purpose ------------------------------


def records(data: bytes | bytearray, start: int, stop: int) -> Iterator[tuple[int, int, int]]:
    """(offset, opcode, content length) of the records in data[start:stop]."""
    at = start
    while at < stop:
        opcode, length = struct.unpack_from("<BQ", data, at)
        yield at, opcode, length
        at += 9 + length


def summary_start(data: bytes | bytearray) -> int:
    return struct.unpack_from("<Q", data, len(data) - 8 - 20)[0]


def find(data: bytes | bytearray, opcode: int, *, in_summary: bool = False) -> list[int]:
    start, stop = (summary_start(data), len(data) - 8 - 29) if in_summary else (8, summary_start(data))
    return [at for at, op, _ in records(data, start, stop) if op == opcode]


def chunk_records(data: bytes | bytearray, chunk: int) -> tuple[int, int]:
    """(file offset of the records of an uncompressed chunk, their size)."""
    size, _, name_length = struct.unpack_from("<QII", data, chunk + 9 + 16)
    return chunk + 9 + 32 + name_length + 8, size


def messages(data: bytes | bytearray, chunk: int) -> list[int]:
    """File offsets of the message records in an uncompressed chunk."""
    at, size = chunk_records(data, chunk)
    return [offset for offset, op, _ in records(data, at, at + size) if op == 5]


def add_crcs(
    data: bytearray, *, chunks: bool = True, data_section: bool = False, summary: bool = False
) -> None:
    """Store the CRCs a CRC-writing recorder would (rosbags stores 0 for each)."""
    if chunks:
        for chunk in find(data, 6):
            at, size = chunk_records(data, chunk)
            struct.pack_into("<I", data, chunk + 9 + 24, zlib.crc32(data[at : at + size]))
    data_end = find(data, 15)[0]
    if data_section:
        struct.pack_into("<I", data, data_end + 9, zlib.crc32(data[:data_end]))
    if summary:
        struct.pack_into("<I", data, len(data) - 8 - 4, zlib.crc32(data[data_end + 13 : len(data) - 8 - 4]))


# --- damages: each returns the byte offset the error must name and what it must say -------------------


def length_of_a_message(data: bytearray) -> tuple[int, str]:
    chunk = find(data, 6)[0]
    data[messages(data, chunk)[1] + 8] = 0x10  # high byte of the record length
    return chunk, "is not a schema, channel or message that fits in the chunk"


def channel_of_a_message(data: bytearray) -> tuple[int, str]:
    chunk = find(data, 6)[0]
    struct.pack_into("<H", data, messages(data, chunk)[2] + 9, 99)
    return chunk, "a message names channel 99, which no Channel record declares"


def log_time_outside_the_chunk(data: bytearray) -> tuple[int, str]:
    chunk = find(data, 6)[0]
    struct.pack_into("<Q", data, messages(data, chunk)[2] + 15, 5)
    return chunk, f"a message of {CAMERA} has log time 5, outside its chunk's"


def log_time_inside_the_chunk(data: bytearray) -> tuple[int, str]:
    chunk = find(data, 6)[0]
    first, _, second = messages(data, chunk)[:3]  # the camera's first two frames
    data[second + 15 : second + 23] = data[first + 15 : first + 23]  # both at one log time
    index = find(data, 7)[0]
    return index, f"the message index of {CAMERA} lists a message at log time"


def pixel_under_a_chunk_crc(data: bytearray) -> tuple[int, str]:
    add_crcs(data)
    chunk = find(data, 6)[1]
    data[messages(data, chunk)[0] + 200] ^= 0x01
    return chunk, "chunk's CRC does not match its bytes"


def pixel_under_the_data_crc(data: bytearray) -> tuple[int, str]:
    add_crcs(data, chunks=False, data_section=True)
    data[messages(data, find(data, 6)[0])[0] + 200] ^= 0x01
    return find(data, 15)[0], "the data section's CRC does not match its bytes"


def time_under_the_summary_crc(data: bytearray) -> tuple[int, str]:
    add_crcs(data, chunks=False, summary=True)
    statistics = find(data, 0x0B, in_summary=True)[0]
    data[statistics + 9 + 30] ^= 0x01  # the statistics' start time: nothing else reads it
    return find(data, 15)[0] + 13, "the summary's CRC does not match its bytes"


def size_in_the_chunk_index(data: bytearray) -> tuple[int, str]:
    index = find(data, 8, in_summary=True)[1]
    end = index + 9 + struct.unpack_from("<Q", data, index + 1)[0]
    struct.pack_into("<Q", data, end - 16, struct.unpack_from("<Q", data, end - 16)[0] - 1)  # compressed size
    return index, "the summary's chunk index does not describe the chunk at byte"


def count_in_the_statistics(data: bytearray) -> tuple[int, str]:
    statistics = find(data, 0x0B, in_summary=True)[0]
    struct.pack_into("<Q", data, statistics + 9 + 46 + 2, FRAMES - 1)  # channel 1's count
    return statistics, f"the statistics count {FRAMES - 1} messages on {CAMERA}, the data {FRAMES}"


DAMAGES: list[Callable[[bytearray], tuple[int, str]]] = [
    length_of_a_message,
    channel_of_a_message,
    log_time_outside_the_chunk,
    log_time_inside_the_chunk,
    pixel_under_a_chunk_crc,
    pixel_under_the_data_crc,
    time_under_the_summary_crc,
    size_in_the_chunk_index,
    count_in_the_statistics,
]


def test_intact_bags_pass_with_their_counts(tmp_path) -> None:
    for name, compressed, crcs in (("plain", False, False), ("zstd", True, False), ("crc", False, True)):
        storage = write_bag(tmp_path / name, compressed=compressed)
        if crcs:
            data = bytearray(storage.read_bytes())
            add_crcs(data, data_section=True, summary=True)
            storage.write_bytes(bytes(data))
        assert mcap_files(tmp_path / name) == [storage] and mcap_files(storage) == [storage]
        assert McapCheck(tmp_path / name).verify() == {CAMERA: FRAMES, OTHER: FRAMES}, name
        with BagReader(tmp_path / name) as reader:
            assert len(reader.image_index(CAMERA)) == FRAMES


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: d.__name__)
def test_damage_is_named_with_its_byte(tmp_path, damage) -> None:
    storage = write_bag(tmp_path / "bag")
    data = bytearray(storage.read_bytes())
    offset, what = damage(data)
    storage.write_bytes(bytes(data))
    with BagReader(tmp_path / "bag") as reader, pytest.raises(BagError) as caught:
        reader.image_index(CAMERA)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'bag'}: {storage.name} is corrupt at byte {offset}: ")
    assert what in message and "Copy the bag again" in message


def test_zstd_chunk_that_cannot_be_decompressed(tmp_path) -> None:
    storage = write_bag(tmp_path / "bag", compressed=True)
    data = bytearray(storage.read_bytes())
    chunk = find(data, 6)[0]
    at, _ = chunk_records(data, chunk)
    data[at : at + 4] = b"\0\0\0\0"  # the zstd frame's magic
    storage.write_bytes(bytes(data))
    expected = rf"corrupt at byte {chunk}: chunk's zstd data cannot be decompressed"
    with BagReader(tmp_path / "bag") as reader, pytest.raises(BagError, match=expected):
        reader.image_index(CAMERA)


def test_a_read_that_misses_messages_is_refused(tmp_path, monkeypatch) -> None:
    write_bag(tmp_path / "bag")
    with BagReader(tmp_path / "bag") as reader:
        original = reader._reader.messages

        def dropping(*args, **kwargs):  # a reader that silently skips a message it cannot frame
            return (m for k, m in enumerate(original(*args, **kwargs)) if k != 3)

        monkeypatch.setattr(reader._reader, "messages", dropping)
        expected = rf"returned {FRAMES - 1} of the {FRAMES} messages the bag holds on {CAMERA}"
        with pytest.raises(BagError, match=expected):
            reader.image_index(CAMERA)


def test_other_storages_are_not_walked(tmp_path, tiny_drive) -> None:
    for storage in ("sqlite3", "ros1"):
        bag = tiny_drive.write_bag(tmp_path, storage)
        assert mcap_files(bag) == [] and McapCheck(bag).verify() == {}


def test_a_damaged_bag_is_reported_and_the_others_are_labeled(tmp_path, tiny_drive, capsys) -> None:
    good, bad = (tiny_drive.write_bag(tmp_path, name=name) for name in ("good", "bad"))
    storage = next(bad.glob("*.mcap"))
    data = bytearray(storage.read_bytes())
    offset, what = channel_of_a_message(data)
    storage.write_bytes(bytes(data))
    keyframes = tiny_drive.write_keyframes(tmp_path / "kf")
    status = bag_label.main(
        [str(bad), str(good), "--image-topic", "/cam/image_raw", "--labels", str(keyframes), "--out",
         str(tmp_path / "out"), "--method", "motion-only", "--radius", "3", "--no-progress"]
    )  # fmt: skip
    assert status == 1
    assert f"{bad}: bad.mcap is corrupt at byte {offset}: {what}" in capsys.readouterr().err
    assert {r.bag for r in read_manifest(tmp_path / "out" / "manifest.jsonl")} == {"good"}
