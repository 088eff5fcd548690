"""Publishes a labeler's keyframe folder (bag_label's ``--labels`` layout) on the node's keyframe topic,
each label the moment an image with its stamp goes by, so ``ros2 bag play`` plus the folder labels live.

Reliable and transient local, as label_node subscribes, so a node started later still gets the labels
already sent (up to ``depth``).
"""

from __future__ import annotations

import bisect

from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from warp_refine_ros.bags.images import header_stamp_ns
from warp_refine_ros.bags.keyframes import KeyframeSet
from warp_refine_ros.errors import WarpRefineError
from warp_refine_ros.node.ros_messages import OVERRIDABLE, header, image_message, profile
from warp_refine_ros.node.ros_node import KEYFRAME_QOS


class KeyframePublisher(Node):
    """Sends each keyframe label once, when the image it was drawn on is published."""

    def __init__(
        self,
        keyframes: KeyframeSet,
        *,
        compressed: bool = False,
        tolerance_ns: int = 1_000_000,
        depth: int = 100,
    ) -> None:
        super().__init__("keyframe_publisher")
        self.keyframes = keyframes
        self.tolerance_ns = tolerance_ns
        self._stamps = keyframes.stamps
        self.sent: set[int] = set()
        self._labels = self.create_publisher(
            Image, "keyframe_labels", profile(KEYFRAME_QOS, depth), qos_overriding_options=OVERRIDABLE
        )
        image_type = CompressedImage if compressed else Image
        self.create_subscription(
            image_type, "image", self._on_image, qos_profile_sensor_data, qos_overriding_options=OVERRIDABLE
        )
        self.get_logger().info(
            f"{len(self._stamps)} keyframe labels from {keyframes.origin}; waiting for their images on "
            f"{self.resolve_topic_name('image')}, publishing on {self.resolve_topic_name('keyframe_labels')}"
        )

    @property
    def done(self) -> bool:
        """Every keyframe label has been sent (or refused with an error)."""
        return len(self.sent) == len(self._stamps)

    def wait_delivered(self, timeout_s: float) -> bool:
        """Whether every subscriber acknowledged every label sent within ``timeout_s`` seconds."""
        return self._labels.wait_for_all_acked(Duration(seconds=timeout_s))

    def match(self, stamp_ns: int) -> int | None:
        """The keyframe stamp within the tolerance of an image's stamp, if any."""
        at = bisect.bisect_left(self._stamps, stamp_ns - self.tolerance_ns)
        if at < len(self._stamps) and abs(self._stamps[at] - stamp_ns) <= self.tolerance_ns:
            return self._stamps[at]
        return None

    def _on_image(self, message: Image | CompressedImage) -> None:
        stamp = self.match(header_stamp_ns(message))
        if stamp is None or stamp in self.sent:
            return
        self.sent.add(stamp)
        try:
            labels = self.keyframes.load(stamp)
        except (WarpRefineError, OSError) as err:
            self.get_logger().error(f"{self.keyframes.name(stamp)}: {err}")
            return
        if isinstance(message, Image) and labels.shape != (message.height, message.width):
            self.get_logger().error(
                f"{self.keyframes.name(stamp)} is {labels.shape[1]}x{labels.shape[0]} but its image is "
                f"{message.width}x{message.height}; label the image at its published size"
            )
            return
        self._labels.publish(image_message(header(stamp, message.header.frame_id), labels, "mono8"))
        self.get_logger().info(
            f"published {self.keyframes.name(stamp)} ({len(self.sent)} of {len(self._stamps)})"
        )
