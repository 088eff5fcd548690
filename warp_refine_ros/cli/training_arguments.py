"""Arguments the training commands share (train_seg, train_refiner) and how they become settings."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from warp_refine_ros.cli.arguments import non_negative_float, non_negative_int, positive_float, positive_int
from warp_refine_ros.training.loop import Hyper


def add_training_arguments(
    parser: argparse.ArgumentParser, *, epochs: int, lr: float, batch_size: int
) -> None:
    """Arguments both trainers share: output, schedule, device, seeds, resuming, logging."""
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--epochs", type=positive_int, default=epochs, help="epochs (default %(default)s)")
    parser.add_argument(
        "--batch-size", type=positive_int, default=batch_size, help="batch per process (default %(default)s)"
    )
    parser.add_argument(
        "--lr", type=positive_float, default=lr, help="peak AdamW learning rate (default %(default)s)"
    )
    parser.add_argument(
        "--weight-decay",
        type=non_negative_float,
        default=1e-4,
        help="AdamW weight decay (default %(default)s)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (under torchrun: cpu or cuda)")
    parser.add_argument(
        "--workers", type=non_negative_int, default=0, help="data-loading processes (default %(default)s)"
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of weights, sampling and augmentation"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from OUT/<name>.pt's training state (same arguments)"
    )
    parser.add_argument("--no-amp", action="store_true", help="no float16 mixed precision on CUDA")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--no-tensorboard", action="store_true", help="no TensorBoard logs under OUT/tensorboard"
    )
    parser.add_argument(
        "--stamp-tolerance",
        type=non_negative_float,
        default=0.0,
        metavar="MS",
        help="match keyframe label stamps to image stamps within this many ms (default exact)",
    )


def hyper_from_args(args: argparse.Namespace) -> Hyper:
    """The optimisation settings of the command line."""
    return Hyper(
        epochs=args.epochs,
        lr=args.lr,
        weight_decay=args.weight_decay,
        amp=not args.no_amp,
        seed=args.seed,
        progress=not args.no_progress,
        tensorboard=not args.no_tensorboard,
    )


def arguments_record(args: argparse.Namespace, prog: str, argv: Sequence[str] | None) -> dict:
    """The command line and its parsed arguments as plain JSON values, for checkpoints and metrics.json."""
    plain = {"command": shlex.join([prog, *(sys.argv[1:] if argv is None else argv)])}
    for key, value in vars(args).items():
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, list | tuple):
            value = [str(v) if isinstance(v, Path) else v for v in value]
        plain[key] = value
    return plain
