"""A missing engine file stops the node at start with the path in its message (needs ROS 2)."""

from __future__ import annotations

import unittest
from pathlib import Path

import pytest

pytest.importorskip("launch_testing", reason="needs ROS 2 (launch_testing, rclpy); runs in the ros2 CI job")

from warp_refine_ros.node.isolation import isolation_problem

if (problem := isolation_problem()) is not None:  # the node and this test are DDS participants
    pytest.skip(f"{problem}; the ros2 CI job runs colcon test in one", allow_module_level=True)

import launch_testing.actions
import launch_testing.asserts
from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

MISSING = "/nonexistent/warp_refine_engines.yaml"


@pytest.mark.launch_test
def generate_test_description() -> LaunchDescription:
    launch_file = Path(get_package_share_directory("warp_refine_ros")) / "launch" / "label.launch.py"
    label = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(launch_file)), launch_arguments={"engines": MISSING}.items()
    )
    return LaunchDescription([label, launch_testing.actions.ReadyToTest()])


class TestStartFailure(unittest.TestCase):
    def test_the_message_names_the_missing_file(self, proc_output) -> None:
        expected = f"engine set {MISSING} does not exist"
        found = proc_output.waitFor(expected, timeout=60, stream="stderr") or proc_output.waitFor(
            expected, timeout=1, stream="stdout"
        )
        self.assertTrue(found, f"the node never said {expected!r}")


@launch_testing.post_shutdown_test()
class TestExitCode(unittest.TestCase):
    def test_the_node_exits_with_an_error(self, proc_info) -> None:
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[1])
