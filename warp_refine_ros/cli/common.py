"""What every command shares: turning package errors into one clear line and an exit status."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from warp_refine_ros.errors import WarpRefineError

KEYFRAME_LABELS = (
    "keyframe labels: id PNGs named <stamp_ns>.png and/or a CVAT 'Segmentation mask 1.1' export "
    "(labelmap.txt, SegmentationClass/<stamp_ns>.png)"
)
"""What every --labels DIR holds (see bags/keyframes.py)."""
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
