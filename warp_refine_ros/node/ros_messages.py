"""Messages for the rclpy shell: camera images decoded, label images with their frame's header, QoS
that users can override the ROS 2 way, and the camera's calibration kept by stamp for the labels."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from builtin_interfaces.msg import Time as TimeMsg
from rclpy.qos import QoSPolicyKind, QoSProfile
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from warp_refine_ros.bags.images import SUPPORTED_ENCODINGS, decode_compressed, decode_image, header_stamp_ns
from warp_refine_ros.errors import BagError

NS_PER_S = 1_000_000_000

# qos_overrides.<topic>.<publisher|subscription>.<policy> parameters, read at start (ros2 docs:
# "Quality of Service overrides"); e.g. -p qos_overrides./camera/image_raw.subscription.reliability:=reliable
OVERRIDABLE = QoSOverridingOptions(
    [QoSPolicyKind.HISTORY, QoSPolicyKind.DEPTH, QoSPolicyKind.RELIABILITY, QoSPolicyKind.DURABILITY]
)


class ImageDecoder:
    """Camera messages as (H, W, 3) uint8 RGB: the package's decoders, and cv_bridge for encodings they
    lack where it is installed."""

    def __init__(self) -> None:
        try:
            from cv_bridge import CvBridge
        except ImportError:
            self._bridge = None
        else:
            self._bridge = CvBridge()

    def __call__(self, message: Image | CompressedImage) -> np.ndarray:
        if isinstance(message, CompressedImage):
            return decode_compressed(message, "image")
        if message.encoding.lower() in SUPPORTED_ENCODINGS or self._bridge is None:
            return decode_image(message, "image")
        try:
            return np.ascontiguousarray(self._bridge.imgmsg_to_cv2(message, desired_encoding="rgb8"))
        except Exception as err:  # CvBridgeError, or OpenCV's for conversions it lacks
            raise BagError(f"image: cannot convert encoding {message.encoding!r} to rgb8: {err}") from err


def header(stamp_ns: int, frame_id: str) -> Header:
    """A header stamped ``stamp_ns``."""
    return Header(stamp=TimeMsg(sec=stamp_ns // NS_PER_S, nanosec=stamp_ns % NS_PER_S), frame_id=frame_id)


def image_message(stamped: Header, array: np.ndarray, encoding: str) -> Image:
    """A sensor_msgs/Image of a (H, W) or (H, W, 3) uint8 array."""
    height, width = array.shape[:2]
    message = Image(
        header=stamped,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * (array.shape[2] if array.ndim == 3 else 1),
    )
    message.data.frombytes(np.ascontiguousarray(array).tobytes())  # as cv_bridge does: no per-byte check
    return message


def profile(base: QoSProfile, depth: int) -> QoSProfile:
    """``base``'s policies with history keep-last ``depth``."""
    return QoSProfile(
        history=base.history, depth=depth, reliability=base.reliability, durability=base.durability
    )


class CameraInfoByStamp:
    """The last ``capacity`` CameraInfo messages by stamp: a label gets its own frame's calibration,
    or the newest one when the camera sends none per frame."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._infos: OrderedDict[int, CameraInfo] = OrderedDict()

    def add(self, info: CameraInfo) -> None:
        stamp = header_stamp_ns(info)
        self._infos[stamp] = info
        self._infos.move_to_end(stamp)
        while len(self._infos) > self.capacity:
            self._infos.popitem(last=False)

    def for_labels(self, stamped: Header, tolerance_ns: int) -> CameraInfo | None:
        """The calibration of the frame stamped like ``stamped``, restamped with its header; None if
        the camera sent none."""
        if not self._infos:
            return None
        stamp = stamped.stamp.sec * NS_PER_S + stamped.stamp.nanosec
        near = [s for s in self._infos if abs(s - stamp) <= tolerance_ns]
        source = self._infos[near[0]] if near else next(reversed(self._infos.values()))
        return CameraInfo(
            header=stamped,
            height=source.height,
            width=source.width,
            distortion_model=source.distortion_model,
            d=source.d,
            k=source.k,
            r=source.r,
            p=source.p,
            binning_x=source.binning_x,
            binning_y=source.binning_y,
            roi=source.roi,
        )
