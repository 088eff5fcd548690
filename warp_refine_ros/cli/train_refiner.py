"""train_refiner: train the refiner Omega with the cycle-consistency loss on keyframes of bags.

Writes OUT/refiner.pt (resumable checkpoint), OUT/refiner.onnx and OUT/metrics.json; the cycle cache
goes to OUT/cache unless --cache says otherwise. Runs data-parallel under
``torchrun --nproc_per_node N -m warp_refine_ros.cli.train_refiner ...``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from warp_refine_ros.cli.arguments import non_negative_int, positive_float, positive_int
from warp_refine_ros.cli.common import KEYFRAME_LABELS, run_cli
from warp_refine_ros.cli.training_arguments import add_training_arguments, arguments_record, hyper_from_args
from warp_refine_ros.engines.loading import canonical_motion, load_segmentation
from warp_refine_ros.errors import UsageError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.refiner import RefinerConfig
from warp_refine_ros.propagation import DEFAULT_TAU
from warp_refine_ros.training import distributed
from warp_refine_ros.training.loop import check_out
from warp_refine_ros.training.refiner_trainer import NAME, CycleGroup, RefinerRun, train_refiner
from warp_refine_ros.training.sources import pair_sources
from warp_refine_ros.training.validation import ValidationDrive


def get_parser() -> argparse.ArgumentParser:
    """The command line; returned so wrappers can extend it."""
    parser = argparse.ArgumentParser(
        prog="train_refiner",
        description="Train the refiner Omega by cycle consistency (paper section 3.4): from each keyframe, "
        "warp-inpaint l frames away and l back (l in --min-length..--max-length, both directions) and "
        "teach Omega to turn what arrives back at the keyframe into the keyframe's label. Only keyframe "
        "labels are read. Motion and segmentation outputs are computed once into a cache. Omega is "
        "class-agnostic: --init may be a refiner trained for any class spec (e.g. models/refiner.pt).",
    )
    _add_data_arguments(parser)
    _add_engine_arguments(parser)
    _add_cycle_arguments(parser)
    _add_validation_arguments(parser)
    add_training_arguments(parser, epochs=20, lr=2e-3, batch_size=8)
    return parser


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Bags and their keyframe labels."""
    data = parser.add_argument_group("training data")
    data.add_argument("--bag", action="append", type=Path, required=True, help="bag; repeatable")
    data.add_argument("--image-topic", required=True, metavar="TOPIC", help="camera topic of the bags")
    data.add_argument(
        "--labels",
        action="append",
        type=Path,
        required=True,
        metavar="DIR",
        help=f"{KEYFRAME_LABELS}; once for all bags or once per --bag",
    )


def _add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """The labeler's engines the cycles go through, and the class spec."""
    engines = parser.add_argument_group("the labeler's engines (cycles go through them)")
    engines.add_argument("--seg", required=True, metavar="FILE", help="segmentation engine (.onnx, .pt)")
    engines.add_argument(
        "--motion",
        nargs="+",
        default=["dis"],
        type=canonical_motion,  # recorded as dis:<preset>, so a resume under another default is refused
        metavar="dis[:PRESET]|FILE",
        help="motion engine (default dis, DIS's default preset); several: each keyframe's cycles use one, "
        "so Omega learns for each (validation uses the first)",
    )
    engines.add_argument(
        "--tau",
        nargs="+",
        type=positive_float,
        default=[DEFAULT_TAU],
        help="trust-mask threshold (default %(default)s); several: as --motion",
    )
    engines.add_argument("--engine-device", default="cpu", help="device of the engines (default cpu)")
    engines.add_argument(
        "--classes", type=Path, metavar="YAML", help="class spec (default: the segmentation engine's)"
    )


def _add_cycle_arguments(parser: argparse.ArgumentParser) -> None:
    """Cycle lengths, crops, the network and its cache."""
    cycles = parser.add_argument_group("cycles and crops")
    cycles.add_argument(
        "--min-length", type=non_negative_int, default=1, help="shortest cycle l (default 1; 0 = no cycle)"
    )
    cycles.add_argument(
        "--max-length", type=non_negative_int, default=6, help="longest cycle l (default 6, the paper's)"
    )
    cycles.add_argument(
        "--crop", type=positive_int, nargs=2, default=(256, 320), metavar=("H", "W"), help="training crop"
    )
    cycles.add_argument(
        "--samples-per-keyframe",
        type=positive_int,
        default=1,
        help="cycles drawn per keyframe and epoch (default 1)",
    )
    cycles.add_argument(
        "--widths",
        type=positive_int,
        nargs="+",
        default=list(RefinerConfig.widths),
        help=(
            f"encoder widths per scale (default {' '.join(map(str, RefinerConfig.widths))}; "
            "--init keeps its own)"
        ),
    )
    cycles.add_argument(
        "--init", type=Path, metavar="FILE", help="start from this refiner (.pt), of any class spec"
    )
    cycles.add_argument("--cache", type=Path, metavar="DIR", help="cycle cache (default OUT/cache)")
    cycles.add_argument("--cache-workers", type=positive_int, default=1, help="processes building the cache")


def _add_validation_arguments(parser: argparse.ArgumentParser) -> None:
    """Held-out drives scored by offset during training."""
    val = parser.add_argument_group("validation: propagated mIoU by offset on held-out drives")
    val.add_argument("--val-bag", action="append", type=Path, default=[], help="held-out bag; repeatable")
    val.add_argument(
        "--val-labels", action="append", type=Path, default=[], metavar="DIR", help="its keyframes"
    )
    val.add_argument(
        "--val-truth", action="append", type=Path, default=[], metavar="DIR", help="its truth of every frame"
    )
    val.add_argument(
        "--val-radius", type=positive_int, default=10, help="label frames within this offset (default 10)"
    )
    val.add_argument(
        "--val-every", type=positive_int, default=1, help="validate every N epochs and after the last"
    )


def validation_drives(args: argparse.Namespace) -> list[ValidationDrive]:
    """The --val-bag/--val-labels/--val-truth triples."""
    if not args.val_bag:
        return []
    if len(args.val_truth) not in (1, len(args.val_bag)):
        raise UsageError("give --val-truth once (shared) or once per --val-bag, in the same order")
    sources = pair_sources(
        args.val_bag,
        args.val_labels,
        args.image_topic,
        tolerance_ns=round(args.stamp_tolerance * 1e6),
        flag="--val-labels",
    )
    truths = args.val_truth * len(sources) if len(args.val_truth) == 1 else args.val_truth
    return [
        ValidationDrive(s.bag, s.topic, s.labels, truth, s.tolerance_ns)
        for s, truth in zip(sources, truths, strict=True)
    ]


def _main(argv: Sequence[str] | None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    if args.min_length > args.max_length:
        parser.error(f"--min-length {args.min_length} is above --max-length {args.max_length}")
    dist = distributed.setup(args.device)
    try:
        return _train(args, dist, arguments_record(args, "train_refiner", argv))
    finally:
        distributed.teardown(dist)


def _train(args: argparse.Namespace, dist: distributed.Distributed, arguments: dict) -> int:
    check_out(args.out, NAME, args.resume)
    spec = LabelSpec.from_yaml(args.classes) if args.classes else load_segmentation(args.seg).spec
    run = RefinerRun(
        out=args.out,
        spec=spec,
        groups=[
            CycleGroup(
                pair_sources(
                    args.bag, args.labels, args.image_topic, tolerance_ns=round(args.stamp_tolerance * 1e6)
                ),
                args.seg,
            )
        ],
        segmentation=args.seg,
        hyper=hyper_from_args(args),
        motions=tuple(args.motion),
        taus=tuple(args.tau),
        lengths=(args.min_length, args.max_length),
        widths=tuple(args.widths),
        init=args.init,
        crop=tuple(args.crop),
        batch_size=args.batch_size,
        samples_per_keyframe=args.samples_per_keyframe,
        workers=args.workers,
        cache=args.cache,
        cache_workers=args.cache_workers,
        engine_device=args.engine_device,
        val=validation_drives(args),
        val_radius=args.val_radius,
        val_every=args.val_every,
        resume=args.resume,
        arguments=arguments,
    )
    train_refiner(run, dist)
    if dist.is_main:
        print(f"wrote {args.out / 'refiner.pt'}, {args.out / 'refiner.onnx'} and {args.out / 'metrics.json'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Train; exit 2 with 'error: ...' on bad input."""
    return run_cli(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
