"""bag_label: rosbags in, auto-labeled dataset out (see DESIGN.md for the output layout)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from warp_refine_ros.bags import job as label_job
from warp_refine_ros.bags.reader import CLOCKS
from warp_refine_ros.cli import labeling_report as report
from warp_refine_ros.cli.common import EXIT_PARTIAL, EXIT_USAGE, KEYFRAME_LABELS, add_bag_arguments, run_cli
from warp_refine_ros.engines.dis import DEFAULT_PRESET
from warp_refine_ros.engines.loading import EngineSet, EngineSources, default_engines
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import DEFAULT_TAU, Method
from warp_refine_ros.propagation.config import DEFAULT_RADIUS, PropagationConfig
from warp_refine_ros.propagation.ops import BACKENDS
from warp_refine_ros.runners import LOCAL


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bag_label",
        description="Propagate sparse keyframe labels through the camera frames of rosbags and write "
        "an auto-labeled dataset. Every frame within --radius frames of a keyframe is labeled. "
        "Rerunning the same command continues an interrupted run.",
    )
    _add_inputs(parser)
    _add_propagation(parser)
    _add_outputs(parser)
    _add_execution(parser)
    return parser


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    """The bags, their image topics, the keyframe labels and the output folder."""
    add_bag_arguments(parser)
    labels = parser.add_mutually_exclusive_group(required=True)
    labels.add_argument(
        "--labels",
        type=Path,
        metavar="DIR",
        help=f"{KEYFRAME_LABELS}, stamps as --stamp says; one sub-directory per camera when several "
        "image topics are given",
    )
    labels.add_argument(
        "--label-topic",
        action="append",
        dest="label_topics",
        metavar="TOPIC",
        help="keyframe labels in the bag (mono8/mono16 with the image's stamp); one per "
        "--image-topic, same order",
    )
    parser.add_argument("--out", type=Path, required=True, help="output dataset directory")


def _add_propagation(parser: argparse.ArgumentParser) -> None:
    """How labels travel: radius, method, the engines and the classes they label, tau."""
    parser.add_argument(
        "--radius",
        "-K",
        type=int,
        help=f"label frames up to this many frames from a keyframe (default: the engine set's, else "
        f"{DEFAULT_RADIUS})",
    )
    parser.add_argument(
        "--method",
        choices=[m.value for m in Method],
        help=f"propagation method (default: the engine set's, else {Method.default()})",
    )
    engines = parser.add_argument_group("engines (default: the shipped CPU engine set)")
    engines.add_argument(
        "--engines",
        type=Path,
        metavar="YAML",
        help="engine set YAML with motion, segmentation, refiner entries",
    )
    engines.add_argument(
        "--seg", metavar="FILE", help="segmentation engine (.pt, .onnx, .engine), replacing the set's"
    )
    engines.add_argument(
        "--refiner", metavar="FILE", help="refiner engine (.pt, .onnx, .engine), replacing the set's"
    )
    engines.add_argument(
        "--motion",
        metavar="dis|FILE",
        help=f"motion engine, replacing the set's: dis (DIS {DEFAULT_PRESET}), dis:<preset> or a file",
    )
    engines.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    engines.add_argument(
        "--propagation",
        choices=BACKENDS,
        help="where the propagation arithmetic runs: numpy on one CPU core, or torch on --device "
        "(default: torch with --device cuda, else numpy; torch on the CPU gives the same labels, slower)",
    )
    parser.add_argument(
        "--classes",
        type=Path,
        metavar="YAML",
        help="class spec (default: the segmentation engine's, else Cityscapes 19)",
    )
    parser.add_argument(
        "--tau",
        type=float,
        help=f"trust-mask colour distance threshold on 0..255 RGB (default: the engine set's, else "
        f"{DEFAULT_TAU:g})",
    )


def _add_outputs(parser: argparse.ArgumentParser) -> None:
    """How frames and keyframes are named, and what is written beside the labels."""
    parser.add_argument(
        "--stamp-tolerance",
        type=float,
        default=0.0,
        metavar="MS",
        help="match keyframe stamps to image stamps within this many ms (default exact)",
    )
    parser.add_argument(
        "--stamp",
        choices=CLOCKS,
        default="header",
        help="what names frames and keyframes: the image's header stamp (default), or log, the time the "
        "recorder logged it, for drivers that do not stamp their images",
    )
    parser.add_argument(
        "--image-format",
        choices=["png", "jpg"],
        default="png",
        help="format of the copied images (default png)",
    )
    parser.add_argument("--color", action="store_true", help="also write colour overlays under OUT/color/")
    parser.add_argument(
        "--out-bag",
        type=Path,
        metavar="BAG",
        help="also write a review bag (ROS 2, mcap) with the images and labels, labels_color and "
        "confidence topics, for Foxglove or RViz",
    )
    parser.add_argument(
        "--split",
        type=float,
        metavar="VAL_FRACTION",
        help="write OUT/train.txt and OUT/val.txt, splitting by bag (e.g. 0.2)",
    )


def _add_execution(parser: argparse.ArgumentParser) -> None:
    """Where the work runs, and whether it is only looked at or checked."""
    parser.add_argument("--workers", type=int, default=1, help="worker processes on this machine (default 1)")
    parser.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        metavar="ADDRESS",
        help="distribute keyframe windows over a Ray cluster (no ADDRESS: start Ray here "
        "with --workers CPUs); OUT must be on storage every node sees",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list topics, keyframes matched and frames that would be written; write nothing",
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="estimate label quality from the keyframes alone (each held out and labeled from its "
        "neighbours), print it and record it in run.json",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def engine_sources(args: argparse.Namespace) -> EngineSources:
    """Engines from --engines (else the shipped default set), with --motion, --seg, --refiner replacing
    its entries: ``--motion dis:fast`` alone keeps the shipped networks."""
    return EngineSources(
        yaml=str(args.engines if args.engines is not None else default_engines()),
        motion=args.motion,
        segmentation=args.seg,
        refiner=args.refiner,
        device=args.device,
    )


def propagation_config(args: argparse.Namespace, sources: EngineSources) -> PropagationConfig:
    """--method, --radius and --tau where given, else the engine set's calibrated values, else defaults."""
    base = (
        PropagationConfig.found_in(EngineSet.settings_in_yaml(sources.yaml), f"engine set {sources.yaml}")
        if sources.yaml
        else PropagationConfig()
    )
    return base.with_changes(method=args.method, radius=args.radius, tau=args.tau)


ENGINE_FLAGS = {"motion": "--motion", "segmentation": "--seg", "refiner": "--refiner"}


def check_engine_flags(args: argparse.Namespace, sources: EngineSources, config: PropagationConfig) -> None:
    """Say so when an engine flag will not be used by the method, or replaces an engine of a set whose
    method or tau were calibrated with the engine it replaces: neither is an error, neither is silent."""
    given = {role: flag for role, flag in ENGINE_FLAGS.items() if getattr(sources, role) is not None}
    if unused := [flag for role, flag in given.items() if role not in config.method.roles]:
        warn(
            f"{' and '.join(unused)} not used: {config.method} runs {', '.join(config.method.roles)} "
            "(--method warp-refine runs all three)"
        )
    calibrated = sorted(
        name
        for name in EngineSet.settings_in_yaml(sources.yaml)
        if name != "radius" and getattr(args, name) is None
    )
    if given and calibrated:
        warn(
            f"{' and '.join(given.values())} replaces an engine of {sources.yaml}, whose "
            f"{' and '.join(calibrated)} were calibrated with the engines it names; give "
            f"{' and '.join(f'--{name}' for name in calibrated)} to choose for the new one"
        )


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(_main, argv, on_interrupt="rerun the same command to resume")


def _main(argv: Sequence[str] | None) -> int:
    args = get_parser().parse_args(argv)
    sources = engine_sources(args)
    config = propagation_config(args, sources)
    check_engine_flags(args, sources, config)
    job = label_job.LabelJob(
        bags=args.bags,
        image_topics=args.image_topics,
        out=args.out,
        engines=sources,
        labels_dir=args.labels,
        label_topics=args.label_topics or [],
        config=config,
        backend=args.propagation,
        spec=LabelSpec.from_yaml(args.classes) if args.classes else None,
        stamp_tolerance_ms=args.stamp_tolerance,
        clock=args.stamp,
        image_format=args.image_format,
        color=args.color,
        split=args.split,
        out_bag=args.out_bag,
        workers=args.workers,
        ray_address=args.ray,
        progress=not args.no_progress,
        arguments={k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    )
    validator = None
    if args.validate:  # imported only when asked: cross-validation brings the evaluation and its plots
        from warp_refine_ros.adaptation.crossval import estimate_run as validator
    if args.dry_run:
        found = label_job.dry_run(job, validator)
        print(report.preview(job, found))
        if found.failures:
            return EXIT_PARTIAL if found.plans else EXIT_USAGE
        return 0
    result = label_job.run(job, report.ProgressBars(not args.no_progress), validator)
    for bag, error in result.failures.items():
        print(f"error: {error}" if bag in error else f"error: {bag}: {error}", file=sys.stderr)
    if not result.started:
        print(
            f"error: none of the {len(args.bags)} bags can be labeled as asked; nothing was written",
            file=sys.stderr,
        )
        return EXIT_USAGE
    print(report.summary(result, str(config.method)))
    report.warnings(result)
    for line in result.stopped:
        print(f"error: {line}", file=sys.stderr)
    if result.failures:
        print(
            f"error: {len(result.failures)} of {len(args.bags)} bags failed (see above); the others are "
            "labeled. Fix those bags' inputs and rerun the same command: finished frames are kept.",
            file=sys.stderr,
        )
    return EXIT_PARTIAL if result.failures or result.stopped else 0


if __name__ == "__main__":
    sys.exit(main())
