"""Write camera images to ROS 2 (mcap, sqlite3) and ROS 1 bags with rosbags.

``ImageBagWriter`` takes RGB (H, W, 3) uint8 frames or one-channel (H, W) images and writes them as
sensor_msgs/Image in any common encoding, or as sensor_msgs/CompressedImage (jpeg, png). The bag is
built under a hidden temporary name beside the target and renamed into place only when the writer
closes without an error, so a failed run never leaves a bag that looks complete.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
from rosbags.interfaces import Connection
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag1 import WriterError as WriterError1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.rosbag2 import WriterError as WriterError2
from rosbags.typesys import Stores, get_typestore

from warp_refine_ros.errors import BagError

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
STORAGES = ("mcap", "sqlite3", "ros1")
ROS2_VERSION = 8
"""rosbag2 metadata version written (8 keeps QoS as a string, which older ROS 2 releases read)."""

# encoding -> (channels, numpy dtype)
ENCODINGS: dict[str, tuple[int, type]] = {
    "rgb8": (3, np.uint8),
    "bgr8": (3, np.uint8),
    "rgba8": (4, np.uint8),
    "bgra8": (4, np.uint8),
    "mono8": (1, np.uint8),
    "mono16": (1, np.uint16),
    "bayer_rggb8": (1, np.uint8),
    "bayer_bggr8": (1, np.uint8),
    "bayer_gbrg8": (1, np.uint8),
    "bayer_grbg8": (1, np.uint8),
}
COMPRESSED_FORMATS = ("jpeg", "png")
_BAYER_CHANNEL = {"r": 0, "g": 1, "b": 2}


def bag_path(out: str | Path, name: str, storage: str) -> Path:
    """Path of bag ``name`` in directory ``out``: a directory for ROS 2, ``name.bag`` for ROS 1."""
    return Path(out) / (f"{name}.bag" if storage == "ros1" else name)


def encode_image(image: np.ndarray, encoding: str) -> np.ndarray:
    """Convert an RGB (H, W, 3) uint8 image, or a one-channel (H, W) image, to the pixels of ``encoding``.

    One-channel input keeps its values in mono8 and mono16 (label images stay class ids) and is
    treated as grey for colour encodings; RGB input becomes grey for mono8 and grey * 257 for mono16.
    """
    if encoding not in ENCODINGS:
        raise BagError(f"unknown image encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}")
    image = np.asarray(image)
    grey_input = image.ndim == 2
    if grey_input and image.dtype == np.uint16:
        if encoding != "mono16":
            raise BagError(f"a 16-bit one-channel image can only be written as mono16, not {encoding}")
        return np.ascontiguousarray(image)
    if image.dtype != np.uint8 or not (grey_input or (image.ndim == 3 and image.shape[2] == 3)):
        raise BagError(
            f"expected an RGB (H, W, 3) or one-channel (H, W) uint8 image, got shape {image.shape} "
            f"of {image.dtype}"
        )
    if encoding in ("mono8", "mono16"):
        grey = image if grey_input else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if encoding == "mono8":
            return np.ascontiguousarray(grey)
        return grey.astype(np.uint16) * (1 if grey_input else 257)
    rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if grey_input else image
    if encoding == "rgb8":
        return np.ascontiguousarray(rgb)
    if encoding == "bgr8":
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if encoding == "rgba8":
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
    if encoding == "bgra8":
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
    pattern = encoding[len("bayer_") : -1]  # e.g. "rggb": colours of (0,0), (0,1), (1,0), (1,1)
    mosaic = np.empty(rgb.shape[:2], np.uint8)
    for k, colour in enumerate(pattern):
        mosaic[k // 2 :: 2, k % 2 :: 2] = rgb[k // 2 :: 2, k % 2 :: 2, _BAYER_CHANNEL[colour]]
    return mosaic


def compress_image(image: np.ndarray, fmt: str, quality: int = 95) -> np.ndarray:
    """JPEG (``quality`` 1..100) or PNG bytes (uint8 array) of an RGB (H, W, 3) or one-channel uint8 image."""
    if fmt not in COMPRESSED_FORMATS:
        raise BagError(f"unknown compressed format {fmt!r}; choose one of {', '.join(COMPRESSED_FORMATS)}")
    if not 1 <= quality <= 100:
        raise BagError(f"JPEG quality must be 1..100, got {quality}")
    image = np.asarray(image)
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise BagError(
            f"expected an RGB (H, W, 3) or one-channel (H, W) uint8 image, got shape {image.shape}"
        )
    pixels = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)  # OpenCV encodes BGR
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if fmt == "jpeg" else [cv2.IMWRITE_PNG_COMPRESSION, 3]
    ok, data = cv2.imencode(".jpg" if fmt == "jpeg" else ".png", pixels, params)
    if not ok:
        raise BagError(f"OpenCV could not encode a {image.shape} image as {fmt}")
    return data.reshape(-1)


class ImageBagWriter:
    """Context manager writing image messages to one bag; the bag appears at ``path`` only on success.

    ``storage`` is "mcap" or "sqlite3" (a ROS 2 bag directory at ``path``) or "ros1" (a ``.bag`` file).
    Message log times equal the header stamps unless ``log_ns`` is given.
    """

    def __init__(self, path: str | Path, *, storage: str = "mcap") -> None:
        if storage not in STORAGES:
            raise BagError(f"unknown bag storage {storage!r}; choose one of {', '.join(STORAGES)}")
        self.path = Path(path)
        if storage == "ros1" and self.path.suffix != ".bag":
            raise BagError(f"a ROS 1 bag must be a .bag file, got {self.path}")
        self.storage = storage
        self.typestore = get_typestore(Stores.ROS1_NOETIC if storage == "ros1" else Stores.ROS2_HUMBLE)
        self._writer: Writer1 | Writer2 | None = None
        self._staging: Path | None = None
        self._connections: dict[str, Connection] = {}
        self._seq: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> ImageBagWriter:
        if self.path.exists():
            raise BagError(f"{self.path} already exists; remove it or choose another output")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._staging = Path(
            tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        )
        inner = self._staging / self.path.name
        if self.storage == "ros1":
            self._writer = Writer1(inner)
        else:
            plugin = StoragePlugin.MCAP if self.storage == "mcap" else StoragePlugin.SQLITE3
            self._writer = Writer2(inner, version=ROS2_VERSION, storage_plugin=plugin)
        try:
            self._writer.open()
        except (WriterError1, WriterError2, OSError) as err:
            self._discard()
            raise BagError(f"cannot create bag {self.path}: {err}") from err
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if exc_type is not None:
            with contextlib.suppress(WriterError1, WriterError2, OSError):  # the staging folder goes anyway
                writer.abort()
            self._discard()
            return
        try:
            writer.close()
            (self._staging / self.path.name).rename(self.path)
        except (WriterError1, WriterError2, OSError) as err:
            self._discard()
            raise BagError(f"cannot finish bag {self.path}: {err}") from err
        self._discard()

    def _discard(self) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    # --- messages -------------------------------------------------------------------------------

    def write(
        self,
        topic: str,
        stamp_ns: int,
        image: np.ndarray,
        *,
        encoding: str = "rgb8",
        frame_id: str = "camera",
        log_ns: int | None = None,
    ) -> None:
        """Write ``image`` (RGB or one-channel, see ``encode_image``) as a sensor_msgs/Image."""
        pixels = encode_image(image, encoding)
        height, width = pixels.shape[:2]
        data = pixels.astype(pixels.dtype.newbyteorder("<"), copy=False).reshape(-1).view(np.uint8)
        msg = self.typestore.types[IMAGE](
            header=self._header(topic, stamp_ns, frame_id),
            height=height,
            width=width,
            encoding=encoding,
            is_bigendian=0,
            step=width * pixels.itemsize * (pixels.shape[2] if pixels.ndim == 3 else 1),
            data=data,
        )
        self._put(topic, IMAGE, msg, stamp_ns if log_ns is None else log_ns)

    def write_compressed(
        self,
        topic: str,
        stamp_ns: int,
        image: np.ndarray,
        *,
        fmt: str = "jpeg",
        quality: int = 95,
        frame_id: str = "camera",
        log_ns: int | None = None,
    ) -> None:
        """Write ``image`` (RGB or one-channel uint8) as a sensor_msgs/CompressedImage in jpeg or png."""
        data = compress_image(image, fmt, quality)
        msg = self.typestore.types[COMPRESSED](
            header=self._header(topic, stamp_ns, frame_id), format=fmt, data=data
        )
        self._put(topic, COMPRESSED, msg, stamp_ns if log_ns is None else log_ns)

    def _header(self, topic: str, stamp_ns: int, frame_id: str) -> object:
        if stamp_ns < 0:
            raise BagError(f"{topic}: stamp {stamp_ns} ns is negative")
        types = self.typestore.types
        stamp = types["builtin_interfaces/msg/Time"](
            sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000
        )
        if self.storage == "ros1":
            seq = self._seq.get(topic, 0)
            self._seq[topic] = seq + 1
            return types["std_msgs/msg/Header"](seq=seq, stamp=stamp, frame_id=frame_id)
        return types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)

    def _put(self, topic: str, msgtype: str, msg: object, log_ns: int) -> None:
        if self._writer is None:
            raise BagError(f"{self.path}: write() called outside the 'with ImageBagWriter(...)' block")
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._connections[topic] = self._writer.add_connection(
                topic, msgtype, typestore=self.typestore
            )
        elif connection.msgtype != msgtype:
            raise BagError(
                f"topic {topic} already carries {connection.msgtype}; cannot also write {msgtype} to it"
            )
        if self.storage == "ros1":
            raw = self.typestore.serialize_ros1(msg, msgtype)
        else:
            raw = self.typestore.serialize_cdr(msg, msgtype)
        try:
            self._writer.write(connection, log_ns, raw)
        except (WriterError1, WriterError2, OSError) as err:  # a full disk, mostly
            raise BagError(f"cannot write bag {self.path}: {getattr(err, 'strerror', None) or err}") from err
        self.counts[topic] = self.counts.get(topic, 0) + 1
