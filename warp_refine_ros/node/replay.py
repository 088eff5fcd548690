"""Drive a real label_node over DDS: start it, play a recorded camera stream and keyframe labels into it
at a camera's rate, record everything it publishes with arrival times, stop it with SIGINT.

For the ROS 2 tests and bench/bench_node.py; call :func:`~warp_refine_ros.node.isolation.check_isolated`
first, since this starts DDS participants.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from warp_refine_ros.bags.images import header_stamp_ns
from warp_refine_ros.bags.keyframes import keyframes_from_directory
from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.node.ros_messages import header, image_message, profile
from warp_refine_ros.node.ros_node import KEYFRAME_QOS

MATCH_S = 1.0  # after discovery, for the node's subscriptions to match this rig's publishers
Event = tuple[str, int]  # ("image", index into the stream) or ("keyframe", stamp_ns)


def stream(bag: Path, topic: str) -> list[Image | CompressedImage]:
    """The bag's images on ``topic`` as rclpy messages, bytes unchanged, in recording order."""
    messages: list[Image | CompressedImage] = []
    with BagReader(bag) as reader:
        for image in reader.images([topic]):
            raw, stamped = image.msg, header(image.stamp_ns, image.msg.header.frame_id)
            if image.compressed:
                message = CompressedImage(header=stamped, format=raw.format)
            else:
                message = Image(
                    header=stamped,
                    height=raw.height,
                    width=raw.width,
                    encoding=raw.encoding,
                    is_bigendian=raw.is_bigendian,
                    step=raw.step,
                )
            message.data.frombytes(np.asarray(raw.data, dtype=np.uint8).tobytes())
            messages.append(message)
    return messages


def keyframe_labels(folder: Path) -> dict[int, np.ndarray]:
    """The ``--labels`` folder's keyframe labels by stamp, read as bag_label reads them."""
    (keyframes,) = keyframes_from_directory(folder, ["camera"], None).values()
    return {stamp: keyframes.load(stamp) for stamp in keyframes.stamps}


def schedule(stamps: Sequence[int], keyframes: Iterable[int], order: str, delay: int = 0) -> list[Event]:
    """Images in order with each keyframe label placed as ``order`` says: ``on-time`` right after its
    image, ``late`` ``delay`` images after it, ``early`` one image before it, ``reversed`` all after the
    last image, newest first."""
    position = {stamp: index for index, stamp in enumerate(stamps)}
    keys = sorted(keyframes, key=position.__getitem__)
    images: list[Event] = [("image", index) for index in range(len(stamps))]
    if order == "reversed":
        return images + [("keyframe", stamp) for stamp in reversed(keys)]
    shift = {"on-time": 0, "late": delay, "early": -1}[order]
    after: dict[int, list[int]] = {}  # image index -> keyframe labels sent right after it (-1: first)
    for stamp in keys:
        after.setdefault(min(max(position[stamp] + shift, -1), len(stamps) - 1), []).append(stamp)
    events: list[Event] = [("keyframe", stamp) for stamp in after.get(-1, [])]
    for index in range(len(stamps)):
        events += [("image", index), *(("keyframe", stamp) for stamp in after.get(index, []))]
    return events


@dataclass(frozen=True)
class Received:
    """A message the node published, when it arrived (time.monotonic())."""

    topic: str
    stamp_ns: int
    arrived: float
    message: object


@dataclass
class Playback:
    """What was sent when (time.monotonic()), and everything that came back."""

    image_sent: dict[int, float] = field(default_factory=dict)  # stamp -> time
    keyframe_sent: dict[int, float] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def on(self, topic: str) -> list[Received]:
        return [item for item in self.received if item.topic == topic]


class Rig(Node):
    """The camera and the labeler's peer: publishes images, keyframe labels and camera info to the
    node under test, records what it publishes; spins on a thread of its own."""

    def __init__(self, namespace: str = "/", compressed: bool = False) -> None:
        super().__init__("label_node_rig", namespace=namespace)
        self.playback = Playback()
        self._lock = threading.Lock()
        image_type = CompressedImage if compressed else Image
        self.images = self.create_publisher(image_type, "image", profile(qos_profile_sensor_data, 100))
        self.keyframes = self.create_publisher(Image, "keyframe_labels", profile(KEYFRAME_QOS, 100))
        self.camera_info = self.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
        outputs = {
            "labels": Image,
            "confidence": Image,
            "labels_color": Image,
            "labels/camera_info": CameraInfo,
        }
        for topic, message_type in outputs.items():
            self.create_subscription(message_type, topic, self._recorder(topic), QoSProfile(depth=1000))
        self.create_subscription(DiagnosticArray, "/diagnostics", self._recorder("/diagnostics"), 100)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self)
        self._thread = threading.Thread(target=self._executor.spin, name="rig", daemon=True)
        self._thread.start()

    def _recorder(self, topic: str) -> Callable[[object], None]:
        def record(message: object) -> None:
            stamp = header_stamp_ns(message)
            with self._lock:
                self.playback.received.append(Received(topic, stamp, time.monotonic(), message))

        return record

    def received(self, topic: str) -> list[Received]:
        with self._lock:
            return self.playback.on(topic)

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Poll ``condition`` until it holds or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def connect(self, node: RosProcess, timeout: float, image_readers: int = 1) -> None:
        """Wait until the node subscribes to images and keyframes and publishes labels (and
        ``image_readers`` processes in all read the images), then a moment more: best-effort images
        sent before the readers' side of the match completes are lost."""

        def connected() -> bool:
            return not node.alive() or bool(
                self.images.get_subscription_count() >= image_readers
                and self.keyframes.get_subscription_count()
                and self.count_publishers(self.resolve_topic_name("labels"))
            )

        if not self.wait_for(connected, timeout) or not node.alive():
            raise SystemExit(f"label_node never came up; its log:\n{node.stop().log}")
        time.sleep(MATCH_S)

    def play(
        self,
        images: Sequence[Image | CompressedImage],
        labels: dict[int, np.ndarray],
        events: Sequence[Event],
        rate_hz: float,
        infos: dict[int, CameraInfo] | None = None,
    ) -> None:
        """Send ``events`` with images ``1 / rate_hz`` apart, as a camera would."""
        period, start = 1.0 / rate_hz, time.monotonic()
        for kind, value in events:
            if kind == "keyframe":
                self.keyframes.publish(image_message(header(value, ""), labels[value], "mono8"))
                self.playback.keyframe_sent[value] = time.monotonic()
                continue
            message = images[value]
            stamp = header_stamp_ns(message)
            time.sleep(max(0.0, start + value * period - time.monotonic()))
            if infos is not None and stamp in infos:
                self.camera_info.publish(infos[stamp])
            self.images.publish(message)
            self.playback.image_sent[stamp] = time.monotonic()

    def quiet(self, seconds: float, timeout: float) -> bool:
        """Wait until the node's /diagnostics, sent after the last image, say no image waits and no
        relabeling is left, and no label arrived for ``seconds``; False if that took over ``timeout``."""

        def settled() -> bool:
            arrived = [item.arrived for item in self.received("labels")]
            last_sent = max(self.playback.image_sent.values(), default=0.0)
            reports = [item for item in self.received("/diagnostics") if item.arrived > last_sent]
            if not arrived or not reports:
                return False
            values = {value.key: value.value for value in reports[-1].message.status[0].values}
            idle = values["images_waiting"] == "0" and values["relabeling"] == "no"
            return idle and time.monotonic() - max(arrived) > seconds

        return self.wait_for(settled, timeout)

    def close(self) -> None:
        """Stop spinning, then let the node go (before rclpy shuts down)."""
        self._executor.shutdown(timeout_sec=2.0)
        self._thread.join(timeout=2.0)
        self.destroy_node()


@dataclass(frozen=True)
class Exit:
    """How the node process ended: exit code, CPU seconds it used, wall seconds it ran, its log."""

    code: int
    cpu_s: float
    wall_s: float
    log: str


class RosProcess:
    """An installed command of this environment (``label_node``, ``publish_keyframes``), started with
    its arguments and ROS arguments; stopped with SIGINT."""

    def __init__(
        self,
        command: str,
        arguments: Sequence[str],
        ros_args: Sequence[str],
        log: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        command_line = [str(Path(sys.executable).with_name(command)), *arguments, "--ros-args", *ros_args]
        self.log_path = log
        self._log = log.open("wb")
        self._started = time.monotonic()
        self._ended: tuple[int, resource.struct_rusage] | None = None
        self.process = subprocess.Popen(command_line, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def alive(self) -> bool:
        return self._reap(os.WNOHANG) is None

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the process to end by itself; True if it did."""
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.alive()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the running process has used so far, from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def stop(self, timeout: float = 20.0) -> Exit:
        """SIGINT, as Ctrl-C sends; kill after ``timeout`` s. The CPU time comes from the kernel."""
        if self.alive():
            self.process.send_signal(signal.SIGINT)
        if not self.wait(timeout):
            self.process.kill()
        status, usage = self._reap(0)  # type: ignore[misc]
        self._log.close()
        return Exit(
            os.waitstatus_to_exitcode(status),
            usage.ru_utime + usage.ru_stime,
            time.monotonic() - self._started,
            self.log_path.read_text(encoding="utf-8", errors="replace"),
        )

    def _reap(self, options: int) -> tuple[int, resource.struct_rusage] | None:
        """The exit status and resource use once the process has ended (waiting with ``options``)."""
        if self._ended is None:
            pid, status, usage = os.wait4(self.process.pid, options)
            if pid:
                self._ended = (status, usage)
                self.process.returncode = os.waitstatus_to_exitcode(status)
        return self._ended


def node_arguments(parameters: dict[str, object], remaps: dict[str, str] | None = None) -> list[str]:
    """``--ros-args`` for label_node: ``-p name:=value`` and ``-r from:=to``."""
    arguments = []
    for name, value in parameters.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        arguments += ["-p", f"{name}:={text}"]
    for source, target in (remaps or {}).items():
        arguments += ["-r", f"{source}:={target}"]
    return arguments


def start_ros() -> None:
    """rclpy for this process (inside the namespace), without its own SIGINT handling."""
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
