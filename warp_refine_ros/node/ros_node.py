"""The live labeler as a ROS 2 node: a thin rclpy shell around :class:`LabelingSession`.

Topics (remappable):
  subscribes ``image``              sensor_msgs/Image (CompressedImage with use_compressed), sensor-data QoS
             ``keyframe_labels``    sensor_msgs/Image mono8 class ids, reliable + transient local
             ``camera_info``        sensor_msgs/CameraInfo of the camera, if it publishes one
  publishes  ``labels``             mono8 class ids, the image's header (255 = ignore)
             ``labels/camera_info`` the camera's CameraInfo with each label's header
             ``labels_color``       rgb8 class colours over the image
             ``confidence``         mono8, 255 = certain
             ``/diagnostics``       latency, dropped frames, keyframe problems

Callbacks only queue messages; one labeling thread takes them in turn: keyframe labels, then images,
and only when neither waits one step of the backward relabeling a keyframe started, so relabeling the
past never holds up the newest frame. Images wait in a queue of ``image_queue_size``; when labeling is
slower than the camera the oldest is dropped, counted and logged. Labels are converted and published
only while someone subscribes. Everything that decides what to publish lives in the session (no ROS).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor, ParameterType, SetParametersResult
from rclpy.clock import JumpThreshold, TimeJump
from rclpy.duration import Duration
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.parameter import Parameter as RosParameter
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.qos_overriding_options import InvalidQosOverridesError
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from warp_refine_ros.bags.images import decode_label, header_stamp_ns
from warp_refine_ros.errors import WarpRefineError
from warp_refine_ros.labels import overlay
from warp_refine_ros.node.config import LabelOutput, SessionError
from warp_refine_ros.node.health import Health
from warp_refine_ros.node.inbox import Delivery, Inbox
from warp_refine_ros.node.ros_messages import (
    OVERRIDABLE,
    CameraInfoByStamp,
    ImageDecoder,
    header,
    image_message,
    profile,
)
from warp_refine_ros.node.session import LabelingSession
from warp_refine_ros.node.settings import BY_NAME, PARAMETERS, open_engines, session_changes, settings
from warp_refine_ros.propagation.ops import backend

if TYPE_CHECKING:
    from rclpy.event_handler import QoSMessageLostInfo

NODE_NAME = "warp_refine_labeler"
COLOR_ALPHA = 0.5  # weight of the class colours over the image in labels_color
DROP_LOG_PERIOD_S = 5.0  # at most one "dropped frames" warning this often
KEYFRAME_QOS = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)

_PARAMETER_TYPES = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
}


class LabelNode(Node):
    """Subscribes images and keyframe labels, publishes propagated labels with each image's header."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(NODE_NAME, **kwargs)
        for parameter in PARAMETERS:
            self.declare_parameter(
                parameter.name,
                parameter.default,
                ParameterDescriptor(
                    name=parameter.name,
                    type=_PARAMETER_TYPES[type(parameter.default)],
                    description=parameter.description,
                    additional_constraints=parameter.constraints,
                    read_only=not parameter.dynamic,
                ),
            )
        self.settings = settings({p.name: self.get_parameter(p.name).value for p in PARAMETERS})
        engines, spec = open_engines(self.settings)  # once, before any callback can run
        self.session = LabelingSession(
            spec,
            engines,
            self.settings.session,
            warn=self.get_logger().warning,
            ops=backend(None, self.settings.device),  # torch on the GPU with device cuda, else numpy
        )
        self.get_logger().info(
            f"engines {engines.describe()}, method {self.session.config.propagation.method}, "
            f"radius {self.session.config.propagation.radius}, {spec.num_classes} classes"
        )
        self._decode = ImageDecoder()
        self._lock = threading.Lock()  # the session: labeling thread vs. parameter changes
        self._inbox: Inbox[Image | CompressedImage] = Inbox(self.settings.image_queue_size)
        self.health = Health()

        self._camera_infos = CameraInfoByStamp(
            self.settings.session.buffer_size + self.settings.image_queue_size
        )
        self._create_topics()
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._jump_handle = self.get_clock().create_jump_callback(
            JumpThreshold(min_forward=None, min_backward=Duration(nanoseconds=-1), on_clock_change=True),
            post_callback=self._on_time_jump,
        )
        self.create_timer(self.settings.diagnostics_period, self._publish_diagnostics)
        self._worker = threading.Thread(target=self._work, name="labeling", daemon=True)
        self._worker.start()

    def _create_topics(self) -> None:
        """Publishers and subscriptions, each with its QoS overridable by qos_overrides parameters."""
        options = self.settings
        publish_qos = profile(QoSProfile(depth=1), options.publish_queue_size)
        self._labels_pub = self._publisher(Image, "labels", publish_qos)
        self._info_pub = self._publisher(CameraInfo, "labels/camera_info", publish_qos)
        self._color_pub = (
            self._publisher(Image, "labels_color", publish_qos) if options.publish_color else None
        )
        self._confidence_pub = (
            self._publisher(Image, "confidence", publish_qos) if options.publish_confidence else None
        )
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        image_type = CompressedImage if options.use_compressed else Image
        image_qos = profile(qos_profile_sensor_data, options.image_queue_size)
        lost = SubscriptionEventCallbacks(message_lost=self._on_images_lost)
        self._subscription(image_type, "image", self._on_image, image_qos, lost)
        keyframe_qos = profile(KEYFRAME_QOS, options.keyframe_queue_size)
        self._subscription(Image, "keyframe_labels", self._inbox.put_keyframe, keyframe_qos)
        self._subscription(CameraInfo, "camera_info", self._on_camera_info, qos_profile_sensor_data)

    def _publisher(self, message_type: type, topic: str, qos: QoSProfile) -> Publisher:
        with _qos_overrides(topic):
            return self.create_publisher(message_type, topic, qos, qos_overriding_options=OVERRIDABLE)

    def _subscription(
        self,
        message_type: type,
        topic: str,
        callback: Callable[[Any], None],
        qos: QoSProfile,
        events: SubscriptionEventCallbacks | None = None,
    ) -> None:
        with _qos_overrides(topic):
            self.create_subscription(
                message_type, topic, callback, qos, event_callbacks=events, qos_overriding_options=OVERRIDABLE
            )

    # --- callbacks (executor thread) -------------------------------------------------------------

    def _on_image(self, message: Image | CompressedImage) -> None:
        """Queue the image; when the queue was full, say so (throttled) beside the diagnostics count."""
        if self._inbox.put_frame(message):
            self.get_logger().warning(
                f"dropped {self._inbox.dropped} images so far: labeling is slower than the camera and "
                f"{self._inbox.capacity} were waiting (image_queue_size); the oldest waiting goes first",
                throttle_duration_sec=DROP_LOG_PERIOD_S,
            )

    def _on_images_lost(self, info: QoSMessageLostInfo) -> None:
        """DDS lost images before they reached the node (best effort): count and say so, throttled."""
        with self._lock:
            self.health.lost_in_transport = info.total_count
        self.get_logger().warning(
            f"{info.total_count} images lost in transport so far (sent by the camera, never received): "
            "check the network and the DDS configuration (README: Fast DDS and full-size images)",
            throttle_duration_sec=DROP_LOG_PERIOD_S,
        )

    def _on_camera_info(self, info: CameraInfo) -> None:
        with self._lock:
            self._camera_infos.add(info)

    def _on_set_parameters(self, parameters: list[RosParameter]) -> SetParametersResult:
        """Run-time changes of method, radius and tau; anything invalid is refused with the reason."""
        values = {p.name: p.value for p in parameters if p.name in BY_NAME}
        try:
            changes = session_changes(values, self.settings.defaults)
            with self._lock:
                config = self.session.reconfigure(**changes)
        except WarpRefineError as err:
            return SetParametersResult(successful=False, reason=str(err))
        if changes:
            now = config.propagation
            self.get_logger().info(f"now {now.method}, radius {now.radius}, tau {now.tau:g}")
        return SetParametersResult(successful=True)

    def _on_time_jump(self, jump: TimeJump) -> None:
        """/clock went back (bag loop) or the time source changed: start over at the next frame."""
        self._inbox.restart(f"clock jumped by {jump.delta.nanoseconds / 1e9:.3f} s")

    def _publish_diagnostics(self) -> None:
        with self._lock:
            session = self.session
            report = self.health.report(
                session.stats, self._inbox.dropped, session.buffered, session.relabeling, self._inbox.waiting
            )
        status = DiagnosticStatus(
            level=bytes([int(report.level)]),
            name=f"{self.get_name()}: labeling",
            message=report.message,
            hardware_id=self.get_fully_qualified_name(),
            values=[KeyValue(key=key, value=value) for key, value in report.values],
        )
        self._diagnostics_pub.publish(
            DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()), status=[status])
        )

    # --- labeling thread -------------------------------------------------------------------------

    def _work(self) -> None:
        """Labeling thread: waiting messages first; relabel steps only while nothing waits."""
        while not self._inbox.closed and rclpy.ok(context=self.context):
            if (reason := self._inbox.take_restart()) is not None:
                with self._lock:
                    self.session.reset(reason)
            delivery = self._inbox.get(timeout=0.0 if self.session.relabeling else 0.2)
            try:
                if delivery is not None:
                    self._handle(delivery)
                elif self.session.relabeling:
                    with self._lock:
                        outputs = self.session.relabel_step()
                    self._publish(outputs)
            except WarpRefineError as err:
                self._count_error()
                self.get_logger().warning(str(err))
            except Exception:  # keep labeling the next frames; the trace says what broke
                self._count_error()
                self.get_logger().error(f"labeling failed:\n{traceback.format_exc()}")

    def _count_error(self) -> None:
        with self._lock:
            self.health.errors += 1

    def _handle(self, delivery: Delivery[Image | CompressedImage]) -> None:
        message = delivery.message
        stamp_ns = header_stamp_ns(message)
        if delivery.keyframe:
            labels = decode_label(message, "keyframe_labels")
            with self._lock:
                outputs = self.session.add_keyframe(labels, stamp_ns)
            self._publish(outputs)
            return
        image = self._decode(message)
        started = time.monotonic()
        with self._lock:
            outputs = self.session.add_frame(image, stamp_ns, message.header.frame_id)
        self._publish(outputs)
        finished = time.monotonic()
        with self._lock:  # the diagnostics timer reads the same windows
            self.health.record(finished - delivery.received, finished - started)

    def _publish(self, outputs: list[LabelOutput]) -> None:
        for output in outputs:
            stamped = header(output.stamp_ns, output.frame_id)
            if self._info_pub.get_subscription_count():
                with self._lock:
                    info = self._camera_infos.for_labels(stamped, self.session.config.stamp_tolerance_ns)
                if info is not None:
                    self._info_pub.publish(info)
            if self._labels_pub.get_subscription_count():
                self._labels_pub.publish(image_message(stamped, output.labels, "mono8"))
            if self._confidence_pub is not None and self._confidence_pub.get_subscription_count():
                self._confidence_pub.publish(image_message(stamped, output.confidence, "mono8"))
            if self._color_pub is not None and self._color_pub.get_subscription_count():
                colors = overlay(output.image, self.session.spec.colorize(output.labels), COLOR_ALPHA)
                self._color_pub.publish(image_message(stamped, colors, "rgb8"))

    def close(self) -> None:
        """Stop the labeling thread."""
        self._inbox.close()
        self._worker.join(timeout=5.0)


@contextmanager
def _qos_overrides(topic: str) -> Iterator[None]:
    """rclpy's errors for a bad qos_overrides value, as a start-up error naming the topic."""
    try:
        yield
    except (InvalidQosOverridesError, ParameterException, RuntimeError) as err:
        raise SessionError(
            f"qos_overrides for topic {topic!r}: {err}; policies take history keep_last|keep_all, "
            "depth N, reliability reliable|best_effort, durability volatile|transient_local"
        ) from err


def main(args: list[str] | None = None) -> int:
    """Run the node until shutdown; a bad parameter or missing engine file fails at start with exit 1."""
    rclpy.init(args=args)
    node = None
    try:
        node = LabelNode()
        rclpy.spin(node)
    except WarpRefineError as err:
        get_logger(NODE_NAME).fatal(f"cannot start: {err}")
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.close()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
