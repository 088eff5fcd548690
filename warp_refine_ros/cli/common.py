"""What every command shares: turning package errors into one clear line and an exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from warp_refine_ros.errors import WarpRefineError

EXIT_USAGE = 2  # bad input: arguments, files, topics, values
EXIT_PARTIAL = 1  # the run finished but some inputs failed (e.g. one corrupt bag of several)


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a command's body; report the package's own errors as ``error: ...`` with exit status 2.

    Anything else is a bug and keeps its traceback."""
    try:
        return main(argv)
    except WarpRefineError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def add_bag_arguments(parser: argparse.ArgumentParser) -> None:
    """The bags and camera topics a command reads: ``BAG [BAG ...] --image-topic TOPIC [...]``."""
    parser.add_argument(
        "bags", nargs="+", type=Path, metavar="BAG", help="ROS 1 .bag, ROS 2 bag directory, .db3 or .mcap"
    )
    parser.add_argument(
        "--image-topic",
        action="append",
        required=True,
        dest="image_topics",
        metavar="TOPIC",
        help="sensor_msgs/Image or CompressedImage topic; repeat for cameras",
    )
