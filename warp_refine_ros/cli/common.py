"""What every command shares: turning package errors into one clear line and an exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from warp_refine_ros.errors import IncompleteRun, WarpRefineError

KEYFRAME_LABELS = (
    "keyframe labels: id PNGs named <stamp_ns>.png and/or a CVAT 'Segmentation mask 1.1' export "
    "(labelmap.txt, SegmentationClass/<stamp_ns>.png)"
)
"""What every --labels DIR holds (see bags/keyframes.py)."""
EXIT_USAGE = 2  # bad input: arguments, files, topics, values
EXIT_PARTIAL = 1  # a run got under way but did not do everything: some inputs failed, or it stopped


def run_cli(
    main: Callable[[Sequence[str] | None], int],
    argv: Sequence[str] | None = None,
    *,
    on_interrupt: str = "",
) -> int:
    """Run a command's body; report the package's own errors as ``error: ...`` with exit status 2 (1 for
    a run that got under way and stopped), and Ctrl-C as ``interrupted`` and what to do next
    (``on_interrupt``).

    Anything else is a bug and keeps its traceback."""
    try:
        return main(argv)
    except IncompleteRun as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_PARTIAL
    except WarpRefineError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"interrupted{f' — {on_interrupt}' if on_interrupt else ''}", file=sys.stderr)
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
