"""publish_keyframes as a command: without ROS 2 it says so; a bad folder is one error line."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from warp_refine_ros.cli.publish_keyframes import main
from warp_refine_ros.node.isolation import environment, isolated, namespace_problem

HAS_ROS = importlib.util.find_spec("rclpy") is not None


@pytest.mark.skipif(HAS_ROS, reason="ROS 2 is installed here, so publish_keyframes runs")
def test_without_ros_it_says_ros_2_is_needed(capsys, tmp_path):
    assert main(["--labels", str(tmp_path)]) == 2
    assert "publish_keyframes needs ROS 2 (rclpy)" in capsys.readouterr().err


@pytest.mark.ros
@pytest.mark.skipif(not HAS_ROS, reason="needs ROS 2 (rclpy)")
@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_a_missing_or_empty_folder_is_one_error_line(tmp_path, folder):
    command = Path(sys.executable).with_name("publish_keyframes")
    if not command.exists():
        pytest.skip("needs the package's commands beside this Python (`make test-ros`)")
    if problem := namespace_problem():
        pytest.skip(problem)
    labels = tmp_path / folder
    if folder == "empty":
        labels.mkdir()
    done = subprocess.run(
        isolated([str(command), "--labels", str(labels)]),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    expected = "does not exist" if folder == "missing" else "holds no <stamp_ns>.png keyframe labels"
    assert done.stderr.startswith("error: ") and expected in done.stderr and "Traceback" not in done.stderr
