"""Read camera images and keyframe labels from one rosbag (ROS 1 .bag, ROS 2 directory, .db3, .mcap).

Every failure of the file itself (missing, corrupt, truncated) surfaces as a BagError naming the bag,
so a multi-bag run can report it and go on with the other bags.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import apsw
import numpy as np
from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.rosbag1 import ReaderError as Rosbag1ReaderError
from rosbags.rosbag2 import ReaderError as Rosbag2ReaderError
from rosbags.serde import SerdeError
from rosbags.typesys import Stores, get_typestore

from warp_refine_ros.bags.images import (
    IMAGE_TYPES,
    decode_compressed,
    decode_image,
    decode_label,
    header_stamp_ns,
    message_size,
)
from warp_refine_ros.bags.mcap_check import RECOVER, McapCheck, mcap_files
from warp_refine_ros.bags.stream_index import StreamIndex
from warp_refine_ros.errors import BagError
from warp_refine_ros.propagation import Frame

DAMAGED = (
    AnyReaderError,
    Rosbag1ReaderError,
    Rosbag2ReaderError,
    SerdeError,
    apsw.Error,  # rosbags' sqlite3 storage
    OSError,
    EOFError,
    struct.error,
    AssertionError,  # rosbags' ROS 1 reader checks record headers with assert
    KeyError,
    IndexError,
    UnicodeDecodeError,
    MemoryError,  # a damaged length asks for an impossible buffer
)
"""What rosbags and the storage libraries under it raise on a damaged or truncated file (found by
truncating and overwriting bytes of bags in every storage): each fails that bag, not the run."""


@dataclass(frozen=True)
class TopicSummary:
    """A topic of the bag: message type and count."""

    name: str
    msgtype: str
    count: int


CLOCKS = ("header", "log")
"""Which time names a frame: its header stamp (the default), or the time the recorder logged it, for
drivers that do not stamp their images."""


@dataclass(frozen=True)
class ImageMessage:
    """One camera image read from a bag; ``decode()`` turns it into RGB only when it is needed."""

    topic: str
    stamp_ns: int  # header stamp, or the recording time when read with clock "log"
    log_ns: int
    msg: object
    compressed: bool

    def decode(self) -> np.ndarray:
        """The image as (H, W, 3) uint8 RGB."""
        if self.compressed:
            return decode_compressed(self.msg, self.topic)  # type: ignore[arg-type]
        return decode_image(self.msg, self.topic)  # type: ignore[arg-type]


STORAGE_SUFFIXES = (".mcap", ".db3")


def bag_name(path: str | Path) -> str:
    """The bag's name as recorded in datasets: its file or directory name."""
    return Path(path).name


def recording(path: str | Path) -> list[str]:
    """What tells one recording from another whatever path names it (``d/`` or ``d/drive.db3``, or a
    copy): per storage file, a hash of its size and its first and last MiB. Two bags that share one
    are (partly) the same recording."""
    path = Path(path)
    files = (
        [p for p in path.iterdir() if p.is_file() and p.name != "metadata.yaml"] if path.is_dir() else [path]
    )
    found = []
    for file in files:
        size = file.stat().st_size
        digest = hashlib.sha256(str(size).encode())
        with file.open("rb") as handle:
            digest.update(handle.read(1 << 20))
            handle.seek(max(size - (1 << 20), 0))
            digest.update(handle.read(1 << 20))
        found.append(digest.hexdigest()[:16])
    return sorted(found)


class BagReader:
    """A context manager over rosbags' AnyReader for one bag, with image-level iteration."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise BagError(f"bag {self.path} does not exist")
        if self.path.is_dir() and not (self.path / "metadata.yaml").is_file():
            storage = sorted(p.name for p in self.path.iterdir() if p.suffix in STORAGE_SUFFIXES)
            raise BagError(
                f"bag folder {self.path} has no metadata.yaml (ros2 bag writes it when a recording ends); "
                + (
                    f"give the storage file itself instead: {', '.join(str(self.path / n) for n in storage)}"
                    if storage
                    else "it holds no .mcap or .db3 file either"
                )
            )
        self._check = McapCheck(self.path)  # mcap structure, checked on the first full read of a topic
        store = Stores.ROS1_NOETIC if self.path.suffix == ".bag" else Stores.ROS2_HUMBLE
        try:
            self._reader = AnyReader([self.path], default_typestore=get_typestore(store))
        except DAMAGED as err:
            raise self._unreadable(err) from err

    def __enter__(self) -> BagReader:
        try:
            self._reader.open()
        except DAMAGED as err:
            raise self._unreadable(err) from err
        return self

    def _unreadable(self, err: BaseException) -> BagError:
        """The error for a bag rosbags cannot open; an mcap cut short (no summary, no end magic) gets the
        mcap CLI's recovery hint."""
        files = mcap_files(self.path)
        hint = " " + RECOVER.format(file=files[0]) if files and "magic" in str(err).lower() else ""
        return BagError(f"{self.path}: cannot open as a rosbag ({type(err).__name__}: {err}).{hint}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._reader.close()

    @property
    def topics(self) -> dict[str, TopicSummary]:
        return {
            name: TopicSummary(name, info.msgtype or "(mixed)", info.msgcount)
            for name, info in self._reader.topics.items()
        }

    def require(self, topic: str, msgtypes: Sequence[str], role: str) -> TopicSummary:
        """The topic's summary, or a BagError listing the image topics the bag does have."""
        topics = self.topics
        summary = topics.get(topic)
        if summary is None:
            listing = "\n".join(f"  {t.name} ({t.msgtype}, {t.count} msgs)" for t in topics.values())
            raise BagError(
                f"{self.path}: no {role} topic {topic!r}; the bag has:\n{listing or '  (no topics)'}"
            )
        if summary.msgtype not in msgtypes:
            raise BagError(
                f"{self.path}: {role} topic {topic} has type {summary.msgtype}; "
                f"expected {' or '.join(msgtypes)}"
            )
        return summary

    def images(
        self,
        topics: Sequence[str],
        *,
        start_ns: int | None = None,
        stop_ns: int | None = None,
        clock: str = "header",
    ) -> Iterator[ImageMessage]:
        """Images of the topics recorded in [start_ns, stop_ns), in recording order, not yet decoded."""
        for topic in topics:
            self.require(topic, IMAGE_TYPES, "image")
        for topic, msgtype, log_time, msg in self._messages(topics, start_ns, stop_ns):
            stamp = log_time if clock == "log" else header_stamp_ns(msg)
            yield ImageMessage(topic, stamp, log_time, msg, msgtype.endswith("CompressedImage"))

    def image_index(self, topic: str, clock: str = "header") -> list[tuple[int, int, tuple[int, int] | None]]:
        """(recording time, stamp, (height, width) if the header tells) of every message on an image
        topic, the stamp read from ``clock``; decodes no pixels."""
        self.require(topic, IMAGE_TYPES, "image")
        self._check.verify()
        index = [
            (message.log_ns, message.stamp_ns, message_size(message.msg, message.compressed))
            for message in self.images([topic], clock=clock)
        ]
        self._check.confirm(topic, len(index))
        return index

    def indexed_images(self, index: StreamIndex, first: int, last: int) -> Iterator[tuple[int, ImageMessage]]:
        """(position, message) of frames ``first..last`` of an indexed stream, in stream (stamp) order,
        not yet decoded; messages the index left out are skipped, and those recorded late are held back
        until their turn. A BagError if the bag no longer holds one of the frames."""
        wanted = {(index.log_times[p], index.stamps[p]): p for p in range(first, last + 1)}
        recorded = index.log_times[first : last + 1]
        messages = self.images(
            [index.topic], start_ns=min(recorded), stop_ns=max(recorded) + 1, clock=index.clock
        )
        early: dict[int, ImageMessage] = {}  # frames read before the ones stamped earlier
        position = first
        for message in messages:
            found = wanted.pop((message.log_ns, message.stamp_ns), None)
            if found is None:
                continue
            early[found] = message
            while position in early:
                yield position, early.pop(position)
                position += 1
            if position > last:
                return
        raise BagError(
            f"{self.path}: {index.topic} ended at frame {position} of {last + 1} "
            "(was the bag modified since it was indexed?)"
        )

    def frames(self, index: StreamIndex, first: int, last: int) -> list[Frame]:
        """Frames ``first..last`` of an indexed stream, decoded, in stream order."""
        return [Frame(m.decode(), m.stamp_ns) for _, m in self.indexed_images(index, first, last)]

    def labels(self, topic: str, clock: str = "header") -> Iterator[tuple[int, np.ndarray]]:
        """(stamp, label ids) of every message on a keyframe-label topic, the stamp read from ``clock``."""
        self.require(topic, ("sensor_msgs/msg/Image",), "label")
        self._check.verify()
        read = 0
        for _, _, log_time, msg in self._messages([topic]):
            read += 1
            yield log_time if clock == "log" else header_stamp_ns(msg), decode_label(msg, topic)
        self._check.confirm(topic, read)

    def _messages(
        self, topics: Sequence[str], start_ns: int | None = None, stop_ns: int | None = None
    ) -> Iterator[tuple[str, str, int, object]]:
        connections = [c for c in self._reader.connections if c.topic in topics]
        try:
            for connection, log_time, raw in self._reader.messages(connections, start=start_ns, stop=stop_ns):
                msg = self._reader.deserialize(raw, connection.msgtype)
                yield connection.topic, connection.msgtype, log_time, msg
        except DAMAGED as err:  # a corrupt or truncated file fails deep inside rosbags or its decoders
            raise BagError(f"{self.path}: corrupt or truncated bag ({type(err).__name__}: {err})") from err
