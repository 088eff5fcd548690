"""eval_labels: score auto-labeled datasets against ground truth by distance from the keyframe."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from warp_refine_ros.cli.common import run_cli
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.evaluation import class_table, evaluate, offset_table, plot_miou_by_offset
from warp_refine_ros.labels import LabelSpec

DEFAULT_JSON = "eval.json"
DEFAULT_PLOT = "eval_miou_by_offset.png"


def get_parser() -> argparse.ArgumentParser:
    """The command line; returned so wrappers can extend it."""
    parser = argparse.ArgumentParser(
        prog="eval_labels",
        description=(
            "Score bag_label output against ground-truth label PNGs and print mIoU by distance |k| "
            "from the keyframe (rows) and method (columns). Keyframes (|k| = 0) are reported on "
            "their own row; 'mean' averages the propagation lengths 1..K. Frames with no truth PNG "
            "are skipped and counted. Truth pixels with the ignore id are not scored; a predicted "
            "ignore counts as a miss. Several OUT directories (e.g. one per method) are pooled "
            "into one table. The JSON report holds fractions in 0..1, null for a class absent "
            "from both truth and labels. Naming --json or --plot writes only the files named; with "
            "neither, one OUT gets both."
        ),
    )
    parser.add_argument("out", nargs="+", type=Path, metavar="OUT", help="bag_label output directory")
    parser.add_argument(
        "--truth",
        required=True,
        type=Path,
        metavar="DIR",
        help="ground-truth label PNGs: DIR/<stamp_ns>.png or DIR/<camera>/<stamp_ns>.png",
    )
    parser.add_argument(
        "--classes",
        type=Path,
        metavar="YAML",
        help="class spec (default: OUT/classes.yaml, which must agree across several OUTs)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help=f"write the full report here (default OUT/{DEFAULT_JSON} when neither file is named)",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help=f"write the mIoU-by-|k| PNG plot here (default OUT/{DEFAULT_PLOT} when neither file is named)",
    )
    parser.add_argument(
        "--per-class",
        action="store_true",
        help="also print IoU per class and method over all propagated frames",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate, print the tables, write JSON and plot; exit 2 with 'error: ...' on bad input."""
    return run_cli(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    named = args.json is not None or args.plot is not None
    if len(args.out) > 1 and not named:
        parser.error(
            "with several OUT directories, say where the pooled report goes: --json FILE and/or --plot FILE"
        )
    json_path = args.json if named else args.out[0] / DEFAULT_JSON
    plot_path = args.plot if named else args.out[0] / DEFAULT_PLOT
    spec = LabelSpec.from_yaml(args.classes) if args.classes else None
    evaluation = evaluate(args.out, args.truth, spec=spec)
    print(offset_table(evaluation))
    if args.per_class:
        print()
        print(class_table(evaluation))
    if json_path is not None:
        _write(json_path, lambda p: p.write_text(json.dumps(evaluation.to_json(), indent=2) + "\n"))
    if plot_path is not None:
        _write(plot_path, lambda p: plot_miou_by_offset(evaluation, p))
    print(f"wrote {' and '.join(str(p) for p in (json_path, plot_path) if p is not None)}")
    return 0


def _write(path: Path, write: Callable[[Path], object]) -> None:
    """Create the parent directory and write, turning OS failures into a DatasetError naming the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
    except OSError as err:
        raise DatasetError(f"cannot write {path}: {err.strerror or err}") from err


if __name__ == "__main__":
    raise SystemExit(main())
