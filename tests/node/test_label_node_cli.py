"""label_node as a command: without ROS 2 it explains what to do and exits non-zero."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from warp_refine_ros.cli.label_node import main

HAS_ROS = importlib.util.find_spec("rclpy") is not None


@pytest.mark.skipif(HAS_ROS, reason="ROS 2 is installed here, so label_node runs the node instead")
@pytest.mark.parametrize("argv", [[], ["--help"], ["--ros-args", "-p", "radius:=3"]])
def test_without_ros_it_says_ros_2_is_needed_and_points_to_bag_label(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "needs ROS 2 (rclpy)" in captured.err
    assert "ros2 launch warp_refine_ros label.launch.py" in captured.err
    assert "bag_label BAG --image-topic TOPIC" in captured.err


@pytest.mark.skipif(HAS_ROS, reason="ROS 2 is installed here, so label_node runs the node instead")
def test_the_installed_command_exits_non_zero_without_ros():
    done = subprocess.run(
        [sys.executable, "-m", "warp_refine_ros.cli.label_node", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "bag_label" in done.stderr


@pytest.mark.ros
@pytest.mark.skipif(not HAS_ROS, reason="needs ROS 2 (rclpy) for the node's own --help")
def test_with_ros_help_lists_topics_and_parameters(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out
    for text in (
        "keyframe_labels",
        "labels_color",
        "/diagnostics",
        "radius (int, default -1",
        "labels/camera_info",
        "qos_overrides",
    ):
        assert text in usage
