"""label_node: the live labeler, a ROS 2 node; without ROS 2 it says so and points to bag_label."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence

from warp_refine_ros.cli.common import EXIT_USAGE

PROG = "label_node"

NEEDS_ROS = f"""\
{PROG} is the live ROS 2 labeling node and needs ROS 2 (rclpy), which this Python environment lacks.
  On a ROS 2 machine: source /opt/ros/<distro>/setup.bash, build the package with colcon, then
    ros2 launch warp_refine_ros label.launch.py image_topic:=/camera/image_raw
  To label recorded bags without ROS 2, use the offline tool instead:
    bag_label BAG --image-topic TOPIC (--labels DIR | --label-topic TOPIC) --out OUT
  (bag_label --help lists its options; it runs the same propagation as the node.)"""

TOPICS = """\
topics (remap with --ros-args -r NAME:=TOPIC):
  image             in   sensor_msgs/Image (CompressedImage with use_compressed:=true), sensor-data QoS
  keyframe_labels   in   sensor_msgs/Image mono8 class ids with the image's stamp; reliable, transient local
  camera_info       in   sensor_msgs/CameraInfo of the camera, if it publishes one
  labels            out  sensor_msgs/Image mono8 class ids (255 = ignore), the image's header
  labels/camera_info out sensor_msgs/CameraInfo: the camera's, with each label's header
  labels_color      out  sensor_msgs/Image rgb8, class colours over the image
  confidence        out  sensor_msgs/Image mono8, 255 = certain
  /diagnostics      out  diagnostic_msgs/DiagnosticArray: latency, dropped frames, keyframe problems
QoS: -p qos_overrides.<topic>.<publisher|subscription>.<history|depth|reliability|durability>:=VALUE"""


def build_parser() -> argparse.ArgumentParser:
    """The usage text: topics and parameters (set with --ros-args -p NAME:=VALUE or a params file)."""
    from warp_refine_ros.node.settings import describe

    return argparse.ArgumentParser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Label a live camera stream by propagating keyframe labels (Warp-Refine Propagation).",
        epilog=f"{TOPICS}\n\nparameters:\n{describe()}\n\n"
        "example:\n  ros2 run warp_refine_ros label_node --ros-args -r image:=/camera/image_raw "
        "-p engines:=engines.yaml -p method:=warp-inpaint",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the node with ROS 2; without it print what to do instead and exit non-zero."""
    args = list(sys.argv[1:] if argv is None else argv)
    if importlib.util.find_spec("rclpy") is None:
        print(NEEDS_ROS, file=sys.stderr)
        return EXIT_USAGE
    from rclpy.utilities import remove_ros_args

    build_parser().parse_args(remove_ros_args(args=[PROG, *args])[1:])  # --help prints and exits here
    from warp_refine_ros.node.ros_node import main as run_node

    return run_node([PROG, *args])


if __name__ == "__main__":
    sys.exit(main())
