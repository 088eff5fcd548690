"""publish_keyframes: a keyframe label folder onto label_node's keyframe topic, matched to image stamps."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from warp_refine_ros.cli.common import EXIT_USAGE, run_cli

PROG = "publish_keyframes"
SPIN_S = 0.1  # longest wait in DDS before Ctrl-C is noticed
ACK_S = 10.0  # how long the last labels may take to reach the subscribers before it exits


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Publish keyframe labels (<stamp_ns>.png, class ids, as for bag_label --labels) on "
        "label_node's keyframe topic, each when an image with its stamp is published: with "
        "`ros2 bag play` the node labels the bag live. Topics: 'image' in, 'keyframe_labels' out "
        "(reliable, transient local); remap them with --ros-args -r. It exits once every label has been "
        "sent and acknowledged (Ctrl-C stops it earlier).",
        epilog="example:\n  ros2 bag play drive.mcap &\n  publish_keyframes --labels keyframes/ --ros-args "
        "-r image:=/front/image_raw -r keyframe_labels:=/front/keyframe_labels",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--labels", type=Path, required=True, help="folder of <stamp_ns>.png keyframe labels")
    parser.add_argument("--compressed", action="store_true", help="'image' is sensor_msgs/CompressedImage")
    parser.add_argument(
        "--stamp-tolerance", type=float, default=1.0, metavar="MS", help="ms between label and image stamps"
    )
    parser.add_argument(
        "--depth", type=int, default=100, help="labels kept for a subscriber that joins late (default 100)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Publish until interrupted (Ctrl-C exits 0)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if importlib.util.find_spec("rclpy") is None:
        print(f"error: {PROG} needs ROS 2 (rclpy); source your ROS 2 setup first", file=sys.stderr)
        return EXIT_USAGE
    from rclpy.utilities import remove_ros_args

    options = build_parser().parse_args(remove_ros_args(args=[PROG, *args])[1:])
    return run_cli(lambda _: _publish(options, [PROG, *args]), args)


def _publish(options: argparse.Namespace, ros_args: list[str]) -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.signals import SignalHandlerOptions

    from warp_refine_ros.bags.keyframes import keyframes_from_directory
    from warp_refine_ros.errors import DatasetError, UsageError
    from warp_refine_ros.node.keyframe_publisher import KeyframePublisher

    if options.depth < 1 or options.stamp_tolerance < 0:
        raise UsageError(
            f"--depth {options.depth} --stamp-tolerance {options.stamp_tolerance}: use a depth of "
            "at least 1 and a tolerance of 0 ms or more"
        )
    (keyframes,) = keyframes_from_directory(options.labels, ["camera"], None).values()
    if not len(keyframes):
        raise DatasetError(f"{options.labels} holds no <stamp_ns>.png keyframe labels")
    # Ctrl-C as a KeyboardInterrupt between short spins: rclpy's own SIGINT handling can leave a process
    # that has published everything waiting in DDS instead of exiting.
    rclpy.init(args=ros_args, signal_handler_options=SignalHandlerOptions.NO)
    node = KeyframePublisher(
        keyframes,
        compressed=options.compressed,
        tolerance_ns=round(options.stamp_tolerance * 1e6),
        depth=options.depth,
    )
    try:
        while rclpy.ok() and not node.done:
            rclpy.spin_once(node, timeout_sec=SPIN_S)
        if node.done:
            acked = node.wait_delivered(ACK_S)
            heard = (
                "acknowledged by every subscriber" if acked else f"not all acknowledged within {ACK_S:g} s"
            )
            node.get_logger().info(f"every keyframe label sent, {heard}; exiting")
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
