"""export_dataset: a bag_label dataset in the layout a trainer reads (mmseg, Cityscapes, Hugging Face)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from warp_refine_ros.cli.common import run_cli
from warp_refine_ros.exports.dataset_export import INDEX, write_dataset
from warp_refine_ros.exports.layouts import LAYOUTS
from warp_refine_ros.exports.source import open_dataset, split_records


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="export_dataset",
        description="Write a bag_label dataset in a trainer's layout, split into train and val by bag as "
        "bag_label --split splits it. Files are hard links into the dataset where the file system "
        "allows (no second copy on disk), else copies.",
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET", help="the --out folder of a bag_label run")
    parser.add_argument(
        "--format",
        required=True,
        choices=sorted(LAYOUTS),
        help="mmseg: img_dir/ ann_dir/ and split files of stems; cityscapes: leftImg8bit/ gtFine/ "
        "labelTrainIds (19 Cityscapes classes); hf: a Hugging Face imagefolder with id2label.json",
    )
    parser.add_argument("--out", type=Path, required=True, help="new folder for the exported dataset")
    parser.add_argument(
        "--split",
        type=float,
        default=0.2,
        metavar="VAL_FRACTION",
        help="fraction of the bags for validation (default 0.2; 0 puts every frame in train)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    args = get_parser().parse_args(argv)
    source = open_dataset(args.dataset)
    sides = split_records(source.records, args.split)
    linker = write_dataset(source, LAYOUTS[args.format](), sides, args.out, progress=not args.no_progress)
    counts = ", ".join(f"{len(records)} {side}" for side, records in sides.items())
    print(f"wrote {args.out} ({args.format}): {counts} frames; {linker.summary()}; index {args.out / INDEX}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
