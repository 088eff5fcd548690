"""The embedded demo: render a synthetic drive, label it with every method whose engines ship, score it.

Run by ``make demo``; each step is one of the package's own commands, as a user would run them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from warp_refine_ros.cli import bag_label, eval_labels, synth_drive
from warp_refine_ros.cli.common import run_cli
from warp_refine_ros.engines.loading import EngineSet
from warp_refine_ros.propagation import Method
from warp_refine_ros.resources import share_path

TOPIC = "/camera/image_raw"


def available_methods(engine_set: Path) -> list[Method]:
    """Methods whose engines the engine set names and that exist on disk, in the paper's order."""
    names = EngineSet.names_in_yaml(engine_set)

    def present(role: str) -> bool:
        value = names[role]
        return bool(value) and (not Path(value).suffix or Path(value).is_file())

    return [
        method
        for method in Method
        if (not method.needs_motion or present("motion"))
        and (not method.needs_segmentation or present("segmentation"))
        and (not method.needs_refiner or present("refiner"))
    ]


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo"), help="demo directory (default ./demo)")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--keyframe-every", type=int, default=20)
    parser.add_argument("--radius", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1000, help="drive seed; training drives use 0..99")
    parser.add_argument("--engines", type=Path, default=None, help="engine set (default: the shipped one)")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = get_parser().parse_args(argv)
    engines = args.engines or share_path("config/engines/default.yaml")
    drive = args.out / "drive"
    steps = [
        (
            synth_drive.main,
            [
                str(drive),
                "--frames",
                str(args.frames),
                "--seed",
                str(args.seed),
                "--keyframe-every",
                str(args.keyframe_every),
                "--topic",
                TOPIC,
            ],
        ),
    ]
    methods = available_methods(engines)
    outs = []
    for method in methods:
        out = args.out / "labels" / str(method)
        outs.append(str(out))
        steps.append(
            (
                bag_label.main,
                [
                    str(drive / "drive"),
                    "--image-topic",
                    TOPIC,
                    "--labels",
                    str(drive / "keyframes"),
                    "--out",
                    str(out),
                    "--method",
                    str(method),
                    "--radius",
                    str(args.radius),
                    "--engines",
                    str(engines),
                ],
            )
        )
    steps.append(
        (
            eval_labels.main,
            [
                *outs,
                "--truth",
                str(drive / "truth"),
                "--json",
                str(args.out / "eval.json"),
                "--plot",
                str(args.out / "miou_by_offset.png"),
            ],
        )
    )
    skipped = [str(m) for m in Method if m not in methods]
    if skipped:
        print(
            f"demo: no shipped engines for {', '.join(skipped)} (see models/); running {len(methods)} methods"
        )
    for command, command_args in steps:
        print(f"\n$ {command.__module__.rsplit('.', 1)[-1]} {' '.join(command_args)}", flush=True)
        status = command(command_args)
        if status != 0:
            return status
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
