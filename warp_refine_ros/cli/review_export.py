"""review_export: a dataset's weakest frames as a CVAT task, to correct and feed back as keyframes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from warp_refine_ros.cli.arguments import non_negative_int, positive_int
from warp_refine_ros.cli.common import run_cli
from warp_refine_ros.errors import UsageError
from warp_refine_ros.exports.source import open_dataset
from warp_refine_ros.exports.weak_frames import PICKED, pick_weak_frames, write_review_task


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="review_export",
        description="Export the --count propagated frames of a bag_label dataset with the lowest mean "
        "confidence, spread over the drive, as a CVAT 'Segmentation mask 1.1' task per camera with the "
        "propagated labels as pre-annotations. Correct them in CVAT, export 'Segmentation mask 1.1', "
        "unpack the export into the camera's keyframe folder and rerun bag_label: only the windows of "
        "the corrected frames are labeled again.",
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET", help="the --out folder of a bag_label run")
    parser.add_argument("--count", "-k", type=positive_int, required=True, help="how many frames to export")
    parser.add_argument(
        "--out", type=Path, required=True, help="new folder for the task (one sub-folder a camera)"
    )
    parser.add_argument(
        "--spacing",
        type=non_negative_int,
        metavar="FRAMES",
        help="no two exported frames of a stream within this many frames (default: the dataset's radius)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    args = get_parser().parse_args(argv)
    source = open_dataset(args.dataset)
    spacing = source.radius if args.spacing is None else args.spacing
    picked = pick_weak_frames(source.records, args.count, spacing)
    if not picked:
        raise UsageError(f"{args.dataset} has no propagated frame to review (only keyframes)")
    linker = write_review_task(source, picked, args.out, progress=not args.no_progress)
    for camera in sorted({r.camera for r in picked}):
        frames = [r for r in picked if r.camera == camera]
        confidence = sorted(r.confidence_mean for r in frames)
        print(
            f"{camera}: {len(frames)} frames, mean confidence {confidence[0]:.3f}..{confidence[-1]:.3f} "
            f"-> {args.out / camera}"
        )
    if len(picked) < args.count:
        print(
            f"note: only {len(picked)} propagated frames are more than {spacing} frames apart; lower "
            "--spacing for more",
            file=sys.stderr,
        )
    print(f"wrote {len(picked)} frames ({linker.summary()}) and {args.out / PICKED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
