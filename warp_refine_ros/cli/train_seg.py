"""train_seg: train the teacher segmentation network g on keyframe labels and/or labeled folders.

Writes OUT/seg.pt (resumable checkpoint), OUT/seg.onnx and OUT/metrics.json. Runs data-parallel under
``torchrun --nproc_per_node N -m warp_refine_ros.cli.train_seg ...``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from warp_refine_ros.cli.arguments import (
    non_negative_float,
    non_negative_int,
    number,
    positive_float,
    positive_int,
    unit_interval,
)
from warp_refine_ros.cli.common import KEYFRAME_LABELS, run_cli
from warp_refine_ros.cli.training_arguments import add_training_arguments, arguments_record, hyper_from_args
from warp_refine_ros.errors import UsageError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.pretrained import TORCHVISION_FILE
from warp_refine_ros.networks.segmentation import MAX_WIDTH, SegmentationConfig
from warp_refine_ros.training import distributed
from warp_refine_ros.training.augment import Augmentation
from warp_refine_ros.training.loop import check_out
from warp_refine_ros.training.losses import LOSSES
from warp_refine_ros.training.sampler import PROPAGATED_FRACTION
from warp_refine_ros.training.seg_trainer import NAME, SegRun, train_segmentation
from warp_refine_ros.training.sources import ManualSources, autolabeled_items, group_split, manual_items


def get_parser() -> argparse.ArgumentParser:
    """The command line; returned so wrappers can extend it."""
    parser = argparse.ArgumentParser(
        prog="train_seg",
        description="Train the teacher segmentation network g (the engine that inpaints untrusted pixels "
        "and whose probabilities the refiner takes) on human-labeled frames: keyframes of bags and/or "
        "folders of image/label pairs, optionally with bag_label output mixed in 70/30 (--dataset).",
    )
    _add_data_arguments(parser)
    _add_dataset_arguments(parser)
    _add_validation_arguments(parser)
    _add_model_arguments(parser)
    add_training_arguments(parser, epochs=30, lr=2e-3, batch_size=8)
    return parser


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Human-labeled sources: bag keyframes, image folders, bag_label output."""
    data = parser.add_argument_group("training data (at least one source)")
    data.add_argument("--bag", action="append", type=Path, default=[], help="bag with keyframes; repeatable")
    data.add_argument("--image-topic", metavar="TOPIC", help="camera topic of the bags")
    data.add_argument(
        "--labels",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help=f"{KEYFRAME_LABELS}; once for all bags or once per --bag",
    )
    data.add_argument("--images", action="append", type=Path, default=[], metavar="DIR", help="image folder")
    data.add_argument(
        "--image-labels",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="label PNGs paired with --images by file stem; once per --images",
    )
    data.add_argument(
        "--dataset", action="append", type=Path, default=[], metavar="OUT", help="bag_label output"
    )


def _add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """Which of bag_label's propagated frames are used, and how they are mixed in."""
    auto = parser.add_argument_group("bag_label output (--dataset)")
    auto.add_argument("--methods", nargs="+", metavar="METHOD", help="use frames of these methods only")
    auto.add_argument(
        "--max-offset", type=non_negative_int, metavar="K", help="use frames within K of their keyframe"
    )
    auto.add_argument(
        "--min-confidence", type=unit_interval, help="drop frames with a lower mean confidence (0..1)"
    )
    auto.add_argument(
        "--pixel-confidence", type=unit_interval, help="ignore pixels with a lower confidence (0..1)"
    )
    auto.add_argument(
        "--propagated-fraction",
        type=unit_interval,
        default=PROPAGATED_FRACTION,
        help="share of each epoch from propagated frames (default %(default)s, the paper's)",
    )
    auto.add_argument(
        "--epoch-size",
        type=positive_int,
        help="frames per epoch (default: all frames; 3x the manual frames when --dataset is mixed in)",
    )


def _add_validation_arguments(parser: argparse.ArgumentParser) -> None:
    """Held-out frames scored each epoch."""
    val = parser.add_argument_group("validation (mIoU each epoch)")
    val.add_argument("--val-bag", action="append", type=Path, default=[], help="held-out bag; repeatable")
    val.add_argument("--val-labels", action="append", type=Path, default=[], metavar="DIR")
    val.add_argument("--val-images", action="append", type=Path, default=[], metavar="DIR")
    val.add_argument("--val-image-labels", action="append", type=Path, default=[], metavar="DIR")
    val.add_argument(
        "--val-fraction",
        type=number(float, above=0, below=1),
        help="hold out this fraction of the training frames instead",
    )


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The network, its loss and the augmentation."""
    model = parser.add_argument_group("network, loss and augmentation")
    model.add_argument("--classes", type=Path, required=True, metavar="YAML", help="class spec")
    model.add_argument(
        "--width",
        type=number(float, above=0, maximum=MAX_WIDTH),
        default=1.0,
        help="encoder width multiplier (default 1.0)",
    )
    model.add_argument(
        "--feature-channels",
        type=positive_int,
        default=64,
        help="channels of g's 1/8 features, its decoder's input (default 64)",
    )
    model.add_argument(
        "--input-scale",
        type=number(float, above=0, maximum=1),
        default=0.5,
        help="engines run g on the image scaled by this (default 0.5)",
    )
    model.add_argument(
        "--init",
        type=Path,
        metavar="FILE",
        help="start g from these weights instead of from scratch: a segmentation checkpoint (.pt; its "
        "classifier only if the class spec is the same) or torchvision's ImageNet "
        f"{TORCHVISION_FILE} (encoder only; --width 1.0)",
    )
    model.add_argument("--loss", choices=LOSSES, default="ce", help="ce, balanced (class weights) or ohem")
    model.add_argument(
        "--crop",
        type=positive_int,
        nargs=2,
        default=(192, 256),
        metavar=("H", "W"),
        help="network input crop",
    )
    model.add_argument(
        "--scale-range",
        type=positive_float,
        nargs=2,
        default=(0.75, 1.5),
        metavar=("LO", "HI"),
        help="random rescale, LO <= HI",
    )
    model.add_argument(
        "--color", type=non_negative_float, default=0.25, help="colour jitter amplitude (default 0.25)"
    )
    model.add_argument("--no-flip", action="store_true", help="no horizontal flips")


def manual_sources(args: argparse.Namespace, *, prefix: str = "") -> ManualSources:
    """The human-labeled sources of the command line; ``prefix="val_"`` for validation."""
    flag = "--" + prefix.replace("_", "-")
    images, image_labels = getattr(args, f"{prefix}images"), getattr(args, f"{prefix}image_labels")
    if len(images) != len(image_labels):
        raise UsageError(
            f"give one {flag}image-labels per {flag}images; got {len(images)} and {len(image_labels)}"
        )
    return ManualSources(
        bags=getattr(args, f"{prefix}bag"),
        labels=getattr(args, f"{prefix}labels"),
        images=images,
        image_labels=image_labels,
        topic=args.image_topic,
        tolerance_ns=round(args.stamp_tolerance * 1e6),
        flag=flag,
    )


def _main(argv: Sequence[str] | None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    low, high = args.scale_range
    if low > high:
        parser.error(f"--scale-range LO HI needs LO <= HI, got {low:g} {high:g}")
    dist = distributed.setup(args.device)
    try:
        return _train(args, dist, arguments_record(args, "train_seg", argv))
    finally:
        distributed.teardown(dist)


def _train(args: argparse.Namespace, dist: distributed.Distributed, arguments: dict) -> int:
    if args.init and args.resume:
        raise UsageError("--resume continues OUT/seg.pt's own weights; drop --init, or start a new --out")
    spec = LabelSpec.from_yaml(args.classes)
    check_out(args.out, NAME, args.resume)
    if not (args.bag or args.images or args.dataset):
        raise UsageError("give training data: --bag/--labels, --images/--image-labels and/or --dataset")
    sources = (manual_sources(args), manual_sources(args, prefix="val_"))
    cache = args.out / "cache" / "keyframes"
    train, val = distributed.main_first(dist, lambda: [manual_items(s, spec, cache) for s in sources])
    if args.val_fraction:
        train, held_out = group_split(train, args.val_fraction)
        val += held_out
    for root in args.dataset:
        train += autolabeled_items(
            root, methods=args.methods, max_offset=args.max_offset, min_confidence=args.min_confidence
        )
    run = SegRun(
        out=args.out,
        spec=spec,
        train=train,
        val=val,
        hyper=hyper_from_args(args),
        config=SegmentationConfig(
            num_classes=spec.num_classes,
            width=args.width,
            feature_channels=args.feature_channels,
            input_scale=args.input_scale,
        ),
        augmentation=Augmentation(
            input_scale=args.input_scale,
            scale_range=tuple(args.scale_range),
            crop=tuple(args.crop),
            flip=not args.no_flip,
            color=args.color,
            ignore_id=spec.ignore_id,
        ),
        loss=args.loss,
        batch_size=args.batch_size,
        workers=args.workers,
        epoch_size=args.epoch_size,
        propagated_fraction=args.propagated_fraction,
        pixel_confidence=args.pixel_confidence,
        resume=args.resume,
        init=args.init,
        arguments=arguments,
    )
    summary = train_segmentation(run, dist)
    if dist.is_main:
        miou = summary.get("val", {}).get("miou")
        note = f", val mIoU {100 * miou:.1f}%" if miou is not None else ""
        print(f"wrote {args.out / 'seg.pt'}, {args.out / 'seg.onnx'} and {args.out / 'metrics.json'}{note}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Train; exit 2 with 'error: ...' on bad input."""
    return run_cli(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
