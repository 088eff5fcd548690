"""The ROS 2 tests of the real label_node: skipped, with the reason, without ROS 2 or a network namespace."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import pytest
from live_node import Drive, command, make_drive

from warp_refine_ros.node.isolation import namespace_problem


@functools.cache
def skip_reason() -> str | None:
    """Why the node cannot be run here, or None."""
    if importlib.util.find_spec("rclpy") is None:
        return "needs ROS 2 (rclpy): `make test` runs these in .venv-ros"
    if not Path(command("label_node")).exists():
        return (
            "needs the package's commands beside this Python (`make test-ros`); colcon runs the launch tests"
        )
    return namespace_problem()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here needs ROS 2 and a loopback-only network namespace; say which is missing."""
    here = Path(__file__).parent
    for item in items:
        if Path(item.fspath).parent == here:
            item.add_marker(pytest.mark.ros)
            if reason := skip_reason():
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def drive(tmp_path_factory: pytest.TempPathFactory) -> Drive:
    return make_drive(tmp_path_factory.mktemp("rgb"))
