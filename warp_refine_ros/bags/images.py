"""Decode sensor_msgs/Image and CompressedImage messages into RGB arrays, and label images into ids.

Functions take the message's plain fields so the same code serves rosbags messages and live rclpy
messages (the node's shell passes its own message objects, which have the same fields).
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from warp_refine_ros.engines.base import MotionEngine
from warp_refine_ros.engines.dis import DisMotion, too_small
from warp_refine_ros.errors import BagError, FrameError

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")

_BAYER = {
    "bayer_rggb8": cv2.COLOR_BayerRGGB2RGB,
    "bayer_bggr8": cv2.COLOR_BayerBGGR2RGB,
    "bayer_gbrg8": cv2.COLOR_BayerGBRG2RGB,
    "bayer_grbg8": cv2.COLOR_BayerGRBG2RGB,
}
_CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1, "8uc1": 1, "8uc3": 3} | dict.fromkeys(
    _BAYER, 1
)
_TO_RGB = {
    "bgr8": cv2.COLOR_BGR2RGB,
    "8uc3": cv2.COLOR_BGR2RGB,  # OpenCV's default channel order
    "rgba8": cv2.COLOR_RGBA2RGB,
    "bgra8": cv2.COLOR_BGRA2RGB,
    "mono8": cv2.COLOR_GRAY2RGB,
    "8uc1": cv2.COLOR_GRAY2RGB,
} | _BAYER
SUPPORTED_ENCODINGS = (*sorted(_CHANNELS), "mono16", "16uc1", "yuv422", "uyvy", "yuv422_yuy2", "yuyv")


class RawImage(Protocol):
    """The fields of sensor_msgs/Image that decoding needs."""

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: np.ndarray


class CompressedImage(Protocol):
    """The fields of sensor_msgs/CompressedImage that decoding needs."""

    format: str
    data: np.ndarray


def _rows(msg: RawImage, bytes_per_pixel: int, topic: str) -> np.ndarray:
    """The message's pixel bytes as (H, W * bytes_per_pixel), dropping any row padding."""
    data = np.frombuffer(memoryview(msg.data), dtype=np.uint8)
    row = msg.width * bytes_per_pixel
    if msg.step < row or data.size < msg.step * msg.height:
        raise FrameError(
            f"{topic}: {msg.encoding} image of {msg.width}x{msg.height} needs {row} bytes a row "
            f"and {row * msg.height} in all, message has step {msg.step} and {data.size} bytes"
        )
    return data[: msg.step * msg.height].reshape(msg.height, msg.step)[:, :row]


def _mono16(msg: RawImage, topic: str) -> np.ndarray:
    rows = _rows(msg, 2, topic)
    dtype = ">u2" if msg.is_bigendian else "<u2"
    return np.ascontiguousarray(rows).view(dtype).astype(np.uint16)


def decode_image(msg: RawImage, topic: str = "image") -> np.ndarray:
    """A sensor_msgs/Image as an (H, W, 3) uint8 RGB array; mono16 is scaled to 8 bits."""
    encoding = msg.encoding.lower()
    if encoding in ("mono16", "16uc1"):
        grey = (_mono16(msg, topic) >> 8).astype(np.uint8)
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    if encoding in ("yuv422", "uyvy", "yuv422_yuy2", "yuyv"):
        packed = _rows(msg, 2, topic).reshape(msg.height, msg.width, 2)
        code = cv2.COLOR_YUV2RGB_UYVY if encoding in ("yuv422", "uyvy") else cv2.COLOR_YUV2RGB_YUY2
        return cv2.cvtColor(np.ascontiguousarray(packed), code)
    channels = _CHANNELS.get(encoding)
    if channels is None:
        raise BagError(
            f"{topic}: unsupported image encoding {msg.encoding!r}; "
            f"supported: {', '.join(SUPPORTED_ENCODINGS)}"
        )
    pixels = np.ascontiguousarray(_rows(msg, channels, topic)).reshape(msg.height, msg.width, channels)
    if encoding == "rgb8":
        return pixels
    return cv2.cvtColor(pixels if channels > 1 else pixels[..., 0], _TO_RGB[encoding])


def decode_compressed(msg: CompressedImage, topic: str = "image") -> np.ndarray:
    """A sensor_msgs/CompressedImage (jpeg or png) as an (H, W, 3) uint8 RGB array."""
    data = np.frombuffer(memoryview(msg.data), dtype=np.uint8)
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if decoded is None:
        raise FrameError(
            f"{topic}: cannot decode compressed image with format {msg.format!r} ({data.size} bytes)"
        )
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def decode_label(msg: RawImage, topic: str = "labels") -> np.ndarray:
    """A keyframe-label sensor_msgs/Image (mono8, or mono16 with ids < 256) as (H, W) uint8 ids."""
    encoding = msg.encoding.lower()
    if encoding in ("mono8", "8uc1"):
        return np.ascontiguousarray(_rows(msg, 1, topic))
    if encoding in ("mono16", "16uc1"):
        ids = _mono16(msg, topic)
        if ids.size and int(ids.max()) > 255:
            raise BagError(f"{topic}: mono16 label holds id {int(ids.max())}; class ids must be 0..255")
        return ids.astype(np.uint8)
    raise BagError(f"{topic}: keyframe labels must be mono8 or mono16 class ids, got {msg.encoding!r}")


def compressed_size(data: np.ndarray | bytes) -> tuple[int, int] | None:
    """(height, width) read from a PNG or JPEG header without decoding it; None if it is neither."""
    head = bytes(memoryview(data)[:65536])
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        return int.from_bytes(head[20:24], "big"), int.from_bytes(head[16:20], "big")
    position = 2 if head[:2] == b"\xff\xd8" else len(head)
    while position + 9 <= len(head):  # JPEG segments: FF marker, 2-byte length; SOFn holds the size
        marker, length = head[position + 1], int.from_bytes(head[position + 2 : position + 4], "big")
        if head[position] != 0xFF or length < 2:
            return None
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            offset = position + 5
            return int.from_bytes(head[offset : offset + 2], "big"), int.from_bytes(
                head[offset + 2 : offset + 4], "big"
            )
        position += 2 + length
    return None


def message_size(msg: object, compressed: bool) -> tuple[int, int] | None:
    """(height, width) of an image message from its fields or compressed header; None if unknown."""
    if compressed:
        return compressed_size(msg.data)  # type: ignore[attr-defined]
    return int(msg.height), int(msg.width)  # type: ignore[attr-defined]


def header_stamp_ns(msg: object) -> int:
    """The message's header stamp in nanoseconds."""
    stamp = msg.header.stamp  # type: ignore[attr-defined]
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def too_small_for(motion: MotionEngine | None, height: int, width: int) -> str | None:
    """Why images of this size cannot be labeled with this motion engine (None: none, the method needs
    no motion), or None: only DIS flow has a smallest image."""
    return too_small(height, width) if isinstance(motion, DisMotion) else None
