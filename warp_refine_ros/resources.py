"""Locate the files shipped beside the code (config/, models/, launch/) in every install layout."""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = "warp_refine_ros"


def share_dirs() -> list[Path]:
    """Candidate roots holding config/ and models/, most specific first.

    A source checkout or editable install keeps them next to the package; a pip or colcon
    install puts them under ``<prefix>/share/warp_refine_ros``.
    """
    candidates = [Path(__file__).resolve().parent.parent, Path(sys.prefix) / "share" / PACKAGE]
    try:  # colcon overlays: the ament index knows where share/ is.
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory(PACKAGE)))
    except (ImportError, LookupError, OSError):
        # no ROS 2; the package not in the ament index; or no AMENT_PREFIX_PATH at all (ROS 2 from pip
        # wheels, or a workspace not sourced), which ament_index_python reports as an OSError
        pass
    return [path for path in candidates if (path / "config").is_dir()]


def share_path(relative: str) -> Path:
    """Absolute path of a shipped file such as ``config/classes/cityscapes.yaml``."""
    for root in share_dirs():
        path = root / relative
        if path.exists():
            return path
    raise FileNotFoundError(f"shipped file {relative!r} not found; is {PACKAGE} installed?")
