"""Shipped files are found in every environment: with ROS 2's ament index, without it, or with the
index installed but no workspace sourced."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from warp_refine_ros.resources import share_dirs, share_path

CHECKOUT = Path(__file__).resolve().parent.parent


def _ament_index(monkeypatch: pytest.MonkeyPatch, lookup) -> None:
    """An ament_index_python whose get_package_share_directory is ``lookup``."""
    package = types.ModuleType("ament_index_python")
    packages = types.ModuleType("ament_index_python.packages")
    packages.get_package_share_directory = lookup
    package.packages = packages
    monkeypatch.setitem(sys.modules, "ament_index_python", package)
    monkeypatch.setitem(sys.modules, "ament_index_python.packages", packages)


def test_without_ros_the_checkout_holds_the_shipped_files(monkeypatch):
    monkeypatch.setitem(sys.modules, "ament_index_python", None)  # import fails
    assert share_dirs()[0] == CHECKOUT
    assert share_path("config/engines/default.yaml") == CHECKOUT / "config/engines/default.yaml"


def test_an_ament_index_without_ament_prefix_path_is_passed_over(monkeypatch):
    def unset(package: str) -> str:  # what ament_index_python does when no workspace is sourced
        raise OSError("Environment variable 'AMENT_PREFIX_PATH' is not set or empty")

    _ament_index(monkeypatch, unset)
    assert share_path("config/engines/default.yaml") == CHECKOUT / "config/engines/default.yaml"


def test_a_colcon_install_is_found_through_the_ament_index(monkeypatch, tmp_path):
    share = tmp_path / "share" / "warp_refine_ros"
    (share / "config").mkdir(parents=True)
    _ament_index(monkeypatch, lambda package: str(share))
    assert share_dirs()[-1] == share
