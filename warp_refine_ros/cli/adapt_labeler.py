"""adapt_labeler: fit the labeler to a camera from its keyframes; writes OUT/engines.yaml and a report."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from warp_refine_ros.cli.arguments import non_negative_float, non_negative_int, positive_float, positive_int
from warp_refine_ros.cli.common import KEYFRAME_LABELS, run_cli
from warp_refine_ros.cli.training_arguments import arguments_record
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.config import DEFAULT_RADIUS


def get_parser() -> argparse.ArgumentParser:
    """The command line; returned so wrappers can extend it."""
    parser = argparse.ArgumentParser(
        prog="adapt_labeler",
        description="Fit the labeler to your camera from your keyframes: train the segmentation network g "
        "(and the refiner) on them, calibrate motion, trust threshold and method by keyframe "
        "cross-validation (each keyframe held out and labeled from its neighbours by models that never saw "
        "it), and write OUT/engines.yaml for bag_label --engines and the live node, with OUT/report.md. "
        "Rerunning the same command continues an interrupted run.",
    )
    parser.add_argument("bags", nargs="+", type=Path, metavar="BAG", help="drives with keyframes")
    parser.add_argument("--image-topic", required=True, metavar="TOPIC", help="the camera topic")
    parser.add_argument("--labels", type=Path, required=True, metavar="DIR", help=KEYFRAME_LABELS)
    parser.add_argument("--classes", type=Path, required=True, metavar="YAML", help="class spec")
    parser.add_argument("--images", action="append", type=Path, default=[], metavar="DIR",
                        help="labeled stills of the same camera (optional; repeatable)")  # fmt: skip
    parser.add_argument("--image-labels", action="append", type=Path, default=[], metavar="DIR",
                        help="their label PNGs, paired by file stem; once per --images")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="output folder (new, or this command's)")
    parser.add_argument(
        "--seg-init",
        metavar="FILE|scratch",
        help="start g from this file: a segmentation checkpoint (.pt) or torchvision's ImageNet "
        "mobilenet_v3_small weights; 'scratch' for random weights (default: the shipped g, whose "
        "classifier starts anew when your classes differ)",
    )
    parser.add_argument(
        "--motion", type=Path, metavar="FILE", help="a learned motion engine (.onnx) to calibrate beside DIS"
    )
    parser.add_argument(
        "--radius",
        type=positive_int,
        default=DEFAULT_RADIUS,
        help=f"K the labels are for (default {DEFAULT_RADIUS})",
    )
    parser.add_argument(
        "--budget-minutes",
        type=positive_float,
        default=30.0,
        help="wall time for the whole run; trainings are sized to it and optional stages (self-training "
        "rounds, the refiner) are skipped when it runs out (default 30: one 200-frame drive on 2 cores)",
    )
    parser.add_argument(
        "--rounds", type=non_negative_int, default=2, help="self-training rounds at most (default 2)"
    )
    parser.add_argument(
        "--seg-steps",
        type=positive_int,
        metavar="N",
        help="optimizer steps of each g training (default: from the budget)",
    )
    parser.add_argument(
        "--refiner-steps",
        type=positive_int,
        metavar="N",
        help="optimizer steps of each refiner training (default: from the budget)",
    )
    parser.add_argument(
        "--stamp-tolerance",
        type=non_negative_float,
        default=0.0,
        metavar="MS",
        help="keyframe stamp tolerance",
    )
    parser.add_argument(
        "--min-fps",
        type=positive_float,
        metavar="F",
        help="choose only settings that label at least F frames/s on this machine (measured during "
        "cross-validation); without it, of settings within 0.5 estimated points the cheapest is chosen",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda, for the engines and the training")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def check_out(out: Path) -> None:
    """OUT is new, empty, or an earlier run of this command (which is then continued)."""
    if out.exists() and not out.is_dir():
        raise DatasetError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "work" / "state.json").is_file():
        raise DatasetError(f"--out {out} is not empty and holds no adapt_labeler run; give a new folder")


def _main(argv: Sequence[str] | None) -> int:
    from warp_refine_ros.adaptation.data import Inputs
    from warp_refine_ros.adaptation.options import Options
    from warp_refine_ros.adaptation.pipeline import Adaptation
    from warp_refine_ros.adaptation.report import write_outputs

    args = get_parser().parse_args(argv)
    if len(args.images) != len(args.image_labels):
        raise DatasetError(
            f"give one --image-labels per --images; got {len(args.images)} and {len(args.image_labels)}"
        )
    check_out(args.out)
    for bag in args.bags:
        if not bag.exists():
            raise DatasetError(f"bag {bag} does not exist")
    started = time.perf_counter()
    inputs = Inputs(
        bags=tuple(args.bags),
        topic=args.image_topic,
        labels=args.labels,
        spec=LabelSpec.from_yaml(args.classes),
        stills=tuple(zip(args.images, args.image_labels, strict=True)),
        tolerance_ns=round(args.stamp_tolerance * 1e6),
    )
    options = Options(
        out=args.out,
        radius=args.radius,
        budget_minutes=args.budget_minutes,
        seg_init=args.seg_init,
        motion=args.motion,
        rounds=args.rounds,
        seg_steps=args.seg_steps,
        refiner_steps=args.refiner_steps,
        min_fps=args.min_fps,
        device=args.device,
        progress=not args.no_progress,
    )
    record = arguments_record(args, "adapt_labeler", argv)
    record = {key: value for key, value in record.items() if key not in ("command", "no_progress")}
    adaptation = Adaptation(inputs, options, record)
    outcome = adaptation.run()
    extra = {
        "schedule": adaptation.state.data["stages"]["plan"],
        "seconds": adaptation.state.data["seconds"],
        "this_run_seconds": round(time.perf_counter() - started, 1),
    }
    report = write_outputs(
        args.out,
        outcome,
        radius=args.radius,
        topic=args.image_topic,
        keyframes=adaptation.keyframes,
        extra=extra,
    )
    chosen, today = report["chosen"], report["today_defaults"]
    speed = f", {chosen['ms_per_frame']:.0f} ms a frame here" if chosen.get("ms_per_frame") else ""
    print(
        f"chosen: {chosen['method']}, {chosen['motion']}, tau {chosen['tau']:g}: estimated mIoU "
        f"{chosen['estimated_miou']} % (today's defaults {today['estimated_miou']} %){speed}"
    )
    for note in report["notes"]:
        print(f"note: {note}")
    print(f"wrote {args.out / 'engines.yaml'} and {args.out / 'report.md'}; label with bag_label --engines")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Adapt; exit 2 with 'error: ...' on bad input."""
    return run_cli(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
