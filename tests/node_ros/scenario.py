"""One run of the real label_node over DDS for the ROS 2 tests; runs inside a loopback-only network
namespace (see conftest.run_scenario) and writes what came back to OUT.

    python scenario.py CONFIG.json     # CONFIG: bag, topic, keyframes, order, delay, rate_hz,
                                       #         parameters, steps, out
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import rclpy
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image

from warp_refine_ros.bags.images import header_stamp_ns
from warp_refine_ros.node.isolation import check_isolated
from warp_refine_ros.node.replay import (
    Rig,
    RosProcess,
    keyframe_labels,
    node_arguments,
    schedule,
    start_ros,
    stream,
)
from warp_refine_ros.node.ros_messages import header, image_message

SERVICE = "/warp_refine_labeler"


def call(rig: Rig, service_type, name: str, request):
    client = rig.create_client(service_type, f"{SERVICE}/{name}")
    assert client.wait_for_service(timeout_sec=20.0), f"no {name} service"
    future = client.call_async(request)
    assert rig.wait_for(future.done, 20.0), f"{name} never answered"
    return future.result()


def change_parameters(rig: Rig) -> dict:
    """Valid and invalid run-time changes through the parameter service, then the values read back."""
    results = {}
    for name, value in (("radius", 3), ("method", "optical-magic"), ("buffer_size", 5), ("tau", -1.0)):
        request = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
        result = call(rig, SetParameters, "set_parameters", request).results[0]
        results[f"{name}={value}"] = {"successful": result.successful, "reason": result.reason}
    got = call(rig, GetParameters, "get_parameters", GetParameters.Request(names=["radius", "method"]))
    results["read back"] = [got.values[0].integer_value, got.values[1].string_value]
    depth = "qos_overrides./labels.publisher.depth"
    results[depth] = (
        call(rig, GetParameters, "get_parameters", GetParameters.Request(names=[depth]))
        .values[0]
        .integer_value
    )
    return results


def bad_messages(rig: Rig, last: Image, labels: np.ndarray) -> None:
    """A wrong-size keyframe, an unsupported encoding, mono16 ids over 255, then time going back."""
    stamp = header_stamp_ns(last)
    rig.keyframes.publish(image_message(header(stamp, ""), labels[: labels.shape[0] // 2], "mono8"))
    odd = image_message(header(stamp + 10**8, "camera"), np.zeros((8, 8, 3), np.uint8), "rgb8")
    odd.encoding = "32FC9"
    rig.images.publish(odd)
    wide = Image(header=header(stamp, ""), height=2, width=2, encoding="mono16", step=4)
    wide.data.frombytes(np.array([[1, 300], [2, 3]], dtype="<u2").tobytes())
    rig.keyframes.publish(wide)
    time.sleep(0.5)
    earlier = Image(header=header(stamp - 5 * 10**9, "camera"), height=last.height, width=last.width)
    earlier.encoding, earlier.step = last.encoding, last.step
    earlier.data = last.data
    rig.images.publish(earlier)
    time.sleep(1.5)


def write(out: Path, rig: Rig, exit_code: int, log: str, extra: dict) -> None:
    """Last label and confidence per stamp as PNGs; the rest as record.json."""
    for topic in ("labels", "confidence"):
        (out / topic).mkdir(parents=True, exist_ok=True)
        last = {item.stamp_ns: item.message for item in rig.received(topic)}
        for stamp, message in last.items():
            array = np.frombuffer(message.data, np.uint8).reshape(message.height, message.width)
            cv2.imwrite(str(out / topic / f"{stamp}.png"), array)
    diagnostics = [
        {
            "level": status.level[0],
            "message": status.message,
            "values": {v.key: v.value for v in status.values},
        }
        for item in rig.received("/diagnostics")
        for status in item.message.status
    ]
    infos: list[CameraInfo] = [item.message for item in rig.received("labels/camera_info")]
    record = {
        "exit_code": exit_code,
        "log": log,
        "frame_ids": sorted({item.message.header.frame_id for item in rig.received("labels")}),
        "label_messages": len(rig.received("labels")),
        "color_encodings": sorted({item.message.encoding for item in rig.received("labels_color")}),
        "camera_info": [[header_stamp_ns(info), info.header.frame_id, list(info.k)] for info in infos],
        "images_sent": sorted(rig.playback.image_sent),
        "diagnostics": diagnostics,
        **extra,
    }
    (out / "record.json").write_text(json.dumps(record, indent=1), encoding="utf-8")


def main(config_path: str) -> int:
    check_isolated()
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    out = Path(config["out"])
    node = RosProcess("label_node", [], node_arguments(config["parameters"]), out / "node.log")
    if config["order"] == "start-only":  # a node that must refuse to start
        node.wait(60.0)
        ended = node.stop()
        (out / "record.json").write_text(
            json.dumps({"exit_code": ended.code, "log": ended.log}), encoding="utf-8"
        )
        return 0
    images = stream(Path(config["bag"]), config["topic"])
    labels = keyframe_labels(Path(config["keyframes"]))
    stamps = [header_stamp_ns(message) for message in images]
    from_folder = config["order"] == "folder"  # publish_keyframes sends them as their images go by
    events = schedule(
        stamps,
        [] if from_folder else labels,
        "on-time" if from_folder else config["order"],
        config.get("delay", 0),
    )
    infos = {
        s: CameraInfo(header=header(s, "camera"), width=1, height=1, k=[float(s % 997)] + [0.0] * 8)
        for s in stamps
    }
    publisher = (
        RosProcess("publish_keyframes", ["--labels", config["keyframes"]], [], out / "publisher.log")
        if from_folder
        else None
    )
    start_ros()
    rig = Rig(compressed=config["parameters"].get("use_compressed", False))
    extra: dict = {}
    try:
        rig.connect(node, 90.0, image_readers=2 if publisher else 1)
        rig.play(
            images, labels, events, config["rate_hz"], infos if "camera_info" in config["steps"] else None
        )
        extra["settled"] = rig.quiet(1.0, 120.0)
        extra["alive_after_drive"] = node.alive()
        if "parameters" in config["steps"]:
            extra["parameters"] = change_parameters(rig)
        if "bad_messages" in config["steps"]:
            bad_messages(rig, images[-1], labels[max(labels)])
            extra["alive_after_bad_messages"] = node.alive()
            extra["parameters_after_bad_messages"] = change_parameters(rig)["read back"]
    finally:
        if publisher is not None:
            extra["publisher"] = asdict(publisher.stop())
        ended = node.stop()
        write(out, rig, ended.code, ended.log, extra)
        rig.close()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
