"""Compare the labeling methods on held-out synthetic drives: mIoU by distance from the keyframe.

For each seed, render a drive the trainers never saw (640x480, keyframe every 20 frames), run
bag_label once per method with the shipped engine set and today's default motion, DIS medium (and
once per extra refiner, e.g. the no-cycle ablation), score every output with the evaluation package,
and report the mean over seeds and each seed's numbers. Everything is done with the package's own commands.

    python bench/compare_methods.py --work build/compare --seeds 1000 1001 1002 1003 1004 \\
        --variant no-cycle=build/weights/refiner-nocycle/refiner.onnx --plot docs/miou_by_offset.png
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from warp_refine_ros.cli import bag_label, synth_drive
from warp_refine_ros.engines.dis import DEFAULT_PRESET
from warp_refine_ros.evaluation import evaluate
from warp_refine_ros.propagation import Method
from warp_refine_ros.resources import share_path

TOPIC = "/camera/image_raw"


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("build/compare"), help="drives and outputs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001, 1002, 1003, 1004])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--keyframe-every", type=int, default=20)
    parser.add_argument("--radius", type=int, default=10)
    parser.add_argument("--engines", type=Path, default=None, help="engine set (default: the shipped one)")
    parser.add_argument(
        "--motion",
        default=f"dis:{DEFAULT_PRESET}",
        help="motion of every run (default %(default)s, today's default)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=REFINER",
        help="also run warp-refine with this refiner file, reported as NAME",
    )
    parser.add_argument(
        "--methods", nargs="+", default=[str(m) for m in Method], help="methods to run (default all four)"
    )
    parser.add_argument("--workers", type=int, default=2, help="bag_label worker processes")
    parser.add_argument("--json", type=Path, help="write all numbers here (default WORK/compare.json)")
    parser.add_argument("--plot", type=Path, help="write the mean-over-seeds plot here")
    return parser


def label(
    drive: Path, out: Path, method: Method, engines: Path, args: argparse.Namespace, refiner: str | None
):
    """One bag_label run into a fresh ``out``."""
    command = [
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
        "--workers",
        str(args.workers),
        "--no-progress",
    ]
    command += ["--engines", str(engines), "--motion", args.motion]
    command += [] if refiner is None else ["--refiner", refiner]
    print(f"$ bag_label {' '.join(command)}", flush=True)
    if bag_label.main(command) != 0:
        raise SystemExit(f"bag_label failed for {out}")


def run_seed(seed: int, engines: Path, args: argparse.Namespace) -> dict[str, dict[int, float]]:
    """mIoU by |offset| of every method (and variant) on one held-out drive."""
    root = args.work / str(seed)
    drive = root / "drive"
    if len(list((drive / "truth").glob("*.png"))) != args.frames:  # not yet (completely) rendered
        shutil.rmtree(drive, ignore_errors=True)
        status = synth_drive.main(
            [str(drive), "--seed", str(seed), "--frames", str(args.frames),
             "--keyframe-every", str(args.keyframe_every), "--topic", TOPIC]
        )  # fmt: skip
        if status != 0:
            raise SystemExit(f"synth_drive failed for seed {seed}")
    runs = [(str(m), m, None) for m in Method if str(m) in args.methods]
    runs += [(name, Method.WARP_REFINE, path) for name, path in (v.split("=", 1) for v in args.variant)]
    results = {}
    for name, method, refiner in runs:
        out = root / "labels" / name
        shutil.rmtree(out, ignore_errors=True)  # bag_label would resume an old run, not redo it
        label(drive, out, method, engines, args, refiner)
        evaluation = evaluate([out], drive / "truth")
        results[name] = {
            k: s.miou
            for k in evaluation.offsets
            if (s := evaluation.scores(str(method), k)) and s.miou is not None
        }
    return results


def table(rows: dict[str, dict[int, float]], offsets: list[int], title: str) -> str:
    """Markdown table: one row per method, mIoU % per offset and their mean."""
    header = "| method | " + " | ".join(str(k) for k in offsets) + " | mean |"
    lines = [f"**{title}**", "", header, "|---|" + "---:|" * (len(offsets) + 1)]
    for name, values in rows.items():
        cells = [f"{100 * values[k]:.1f}" for k in offsets]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {100 * np.mean([values[k] for k in offsets]):.1f} |"
        )
    return "\n".join(lines)


def plot(mean: dict[str, dict[int, float]], offsets: list[int], seeds: list[int], path: Path) -> None:
    """mIoU (%) against |k|, averaged over the seeds, one line per method."""
    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for (name, values), marker in zip(mean.items(), "osD^vPX", strict=False):
        axes.plot(offsets, [100 * values[k] for k in offsets], marker=marker, label=name)
    axes.set_xlabel("propagation length |k| (frames from the keyframe)")
    axes.set_ylabel("mIoU (%)")
    axes.set_title(f"Held-out synthetic drives (seeds {seeds[0]}..{seeds[-1]}), mean of {len(seeds)}")
    axes.set_xticks(offsets)
    axes.grid(True, alpha=0.3)
    axes.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    engines = args.engines or share_path("config/engines/default.yaml")
    per_seed = {seed: run_seed(seed, engines, args) for seed in args.seeds}
    names = list(per_seed[args.seeds[0]])
    offsets = sorted(set.intersection(*(set(r[n]) for r in per_seed.values() for n in names)))
    mean = {n: {k: float(np.mean([per_seed[s][n][k] for s in args.seeds])) for k in offsets} for n in names}
    print(table(mean, offsets, f"mIoU (%) by |k|, mean over seeds {', '.join(map(str, args.seeds))}"))
    for seed in args.seeds:
        print()
        print(table(per_seed[seed], offsets, f"seed {seed}"))
    json_path = args.json or args.work / "compare.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(
        json.dumps(
            {"seeds": args.seeds, "mean": mean, "per_seed": {str(s): r for s, r in per_seed.items()}},
            indent=2,
        )
        + "\n"
    )
    if args.plot:
        plot(mean, offsets, args.seeds, args.plot)
    print(f"\nwrote {json_path}" + (f" and {args.plot}" if args.plot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
