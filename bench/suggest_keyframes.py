"""Suggested keyframes against keyframes every N-th frame, at the same count, on drives with per-frame truth.

For each drive of the chosen families (bench/drive_families.py: renders once under WORK and reuses)
and each keyframe count, three placements of the same number of keyframes are labeled by the human
labeler's stand-in (the drive's truth at those frames) and propagated by bag_label with the shipped
defaults (radius 10; motion-only with CamVid's classes, which the shipped networks do not speak):

    every-nth   frames 0, s, 2s, ... (s = 20: synth_drive's keyframes, what a labeler is usually given)
    even        the same count spread evenly, centred: round((i + 1/2) frames / count)
    suggested   suggest_keyframes --count N --radius 10, N the same count

Score: mIoU (%) of one confusion matrix over EVERY frame of the drive; a frame bag_label did not label
(farther than the radius from every keyframe) counts as predicted ignore on all its pixels, i.e. every
truth pixel of it is a miss for its class. Keyframes themselves are scored too (they are exact).
``--fewer 0.25`` also compares every 20th frame at radius 10 with a quarter fewer keyframes (even and
suggested) at the least radius that reaches every frame.

    python bench/suggest_keyframes.py --max-seeds 2 --fewer 0.25   # the README's held-out table
    python bench/suggest_keyframes.py --split tuning --fewer 0.25  # the families choices may be tuned on
    python bench/suggest_keyframes.py --max-seeds 1 --spacings 30 20 10 --plot docs/suggest_keyframes.png
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from drive_families import FAMILIES, TOPIC, Bench, Family
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from warp_refine_ros.cli import bag_label, suggest_keyframes
from warp_refine_ros.evaluation import ConfusionMatrix
from warp_refine_ros.labels import LabelSpec, read_label_png

STRATEGIES = ("every-nth", "even", "suggested")
RADIUS = 10


@dataclass(frozen=True)
class Placement:
    """A way to place keyframes on a drive: every ``spacing``-th frame from the first (every-nth), or
    ``count`` of them (even, suggested); labels propagated ``radius`` frames."""

    strategy: str
    count: int
    radius: int = RADIUS
    spacing: int = 0  # every-nth only

    @property
    def folder(self) -> str:
        if self.strategy == "every-nth":
            return f"every-nth-{self.spacing}-k{self.radius}"
        return f"{self.strategy}-n{self.count}-k{self.radius}"

    def frames(self, frames: int, drive: Path, out: Path) -> tuple[list[int], float]:
        """Frame indices of the keyframes, and the seconds suggest_keyframes read motion for (else 0)."""
        if self.strategy == "every-nth":
            return list(range(0, frames, self.spacing)), 0.0
        if self.strategy == "even":
            spread = {min(frames - 1, round((i + 0.5) * frames / self.count)) for i in range(self.count)}
            return sorted(spread), 0.0
        shutil.rmtree(out, ignore_errors=True)
        args = [str(drive / "drive"), "--image-topic", TOPIC, "--count", str(self.count)]
        args += ["--radius", str(self.radius), "--out", str(out), "--no-progress"]
        if suggest_keyframes.main(args) != 0:
            raise SystemExit(f"suggest_keyframes failed for {drive}")
        record = json.loads((out / "suggestions.json").read_text())
        position = {stamp: i for i, stamp in enumerate(_stamps(drive))}
        return sorted(position[k["stamp_ns"]] for k in record["keyframes"]), record["analysis_seconds"]


def _stamps(drive: Path) -> list[int]:
    return sorted(int(p.stem) for p in (drive / "truth").glob("*.png"))


def label_and_score(family: Family, drive: Path, keyframes: list[int], radius: int, out: Path) -> dict:
    """bag_label from the truth at ``keyframes``, then the mIoU over every frame of the drive."""
    stamps = _stamps(drive)
    keys = out / "keyframes"
    keys.mkdir(parents=True)
    for index in keyframes:
        shutil.copy(drive / "truth" / f"{stamps[index]}.png", keys / f"{stamps[index]}.png")
    dataset = out / "dataset"
    args = [str(drive / "drive"), "--image-topic", TOPIC, "--labels", str(keys), "--out", str(dataset)]
    args += ["--radius", str(radius), "--no-progress", "--classes", str(drive / "classes.yaml")]
    if not family.fits_shipped_networks:
        args += ["--method", "motion-only"]
    if bag_label.main(args) != 0:
        raise SystemExit(f"bag_label failed for {out}")
    spec = LabelSpec.from_yaml(drive / "classes.yaml")
    matrix = ConfusionMatrix.for_spec(spec)
    labeled = 0
    for stamp in stamps:
        truth = read_label_png(drive / "truth" / f"{stamp}.png")
        path = dataset / "labels" / TOPIC.lstrip("/").replace("/", "_") / f"{stamp}.png"
        if path.is_file():
            labeled += 1
            matrix.update(truth, read_label_png(path))
        else:
            matrix.update(truth, np.full_like(truth, spec.ignore_id))
    scores = matrix.compute()
    return {"miou": scores.miou, "labeled_frames": labeled, "frames": len(stamps), "keyframes": keyframes}


def score(bench: Bench, family: Family, seed: int, placement: Placement) -> dict:
    """One placement on one drive, scored once and then read from its score.json."""
    out = bench.work / family.name / str(seed) / "suggest" / placement.folder
    done = out / "score.json"
    if done.is_file():
        return json.loads(done.read_text())
    drive = bench.drive(family, seed)
    shutil.rmtree(out, ignore_errors=True)
    keyframes, seconds = placement.frames(len(_stamps(drive)), drive, out / "suggestion")
    result = label_and_score(family, drive, keyframes, placement.radius, out) | {"analysis_seconds": seconds}
    shutil.rmtree(out / "dataset")  # the labels are scored; keep the folder small
    done.write_text(json.dumps(result, indent=1) + "\n")
    return result


def equal_count(family: Family, spacing: int) -> dict[str, Placement]:
    """The three placements with as many keyframes as every ``spacing``-th frame, radius 10."""
    count = math.ceil(family.frames / spacing)
    return {
        "every-nth": Placement("every-nth", count, spacing=spacing),
        "even": Placement("even", count),
        "suggested": Placement("suggested", count),
    }


def fewer(family: Family, spacing: int, cut: float) -> dict[str, Placement]:
    """Every ``spacing``-th frame at radius 10 against ``cut`` fewer keyframes (at least), placed evenly
    or suggested, with the least radius that still reaches every frame."""
    count = math.ceil(family.frames / spacing)
    fewer_count = math.floor(count * (1 - cut))
    radius = math.ceil((family.frames / fewer_count - 1) / 2)
    return {
        "every-nth": Placement("every-nth", count, spacing=spacing),
        "even": Placement("even", fewer_count, radius),
        "suggested": Placement("suggested", fewer_count, radius),
    }


def measure(bench: Bench, families: list[Family], placements) -> list[dict]:
    """Per drive: each placement's mIoU, keyframes, radius and frames left unlabeled."""
    rows = []
    for family in families:
        for seed in bench.seeds(family):
            row = {"drive": f"{family.name}/{seed}", "frames": family.frames}
            for name, placement in placements(family).items():
                result = score(bench, family, seed, placement)
                row[name] = result["miou"]
                row[f"{name} setting"] = f"{len(result['keyframes'])}/{placement.radius}"
                row[f"{name} unlabeled"] = result["frames"] - result["labeled_frames"]
                if name == "suggested":
                    row["seconds_per_100_frames"] = 100 * result["analysis_seconds"] / family.frames
            rows.append(row)
    return rows


def table(rows: list[dict], title: str) -> str:
    """Per drive and on average: mIoU of each placement and the suggestion's gains; then per
    placement the keyframes/radius and the frames it leaves unlabeled."""
    head = f"{'drive':<22}{'frames':>7}" + "".join(f"{s:>11}" for s in STRATEGIES)
    lines = [title, f"{head}{'vs every-nth':>14}{'vs even':>9}  keyframes/radius  unlabeled"]
    mean = {s: float(np.mean([r[s] for r in rows])) for s in STRATEGIES}
    for row in [*rows, {"drive": "mean", "frames": "", **mean}]:
        cells = "".join(f"{100 * row[s]:11.1f}" for s in STRATEGIES)
        gains = "".join(
            f"{100 * (row['suggested'] - row[o]):+{w}.1f}" for o, w in (("every-nth", 14), ("even", 9))
        )
        setting = " ".join(row.get(f"{s} setting", "") for s in STRATEGIES)
        unlabeled = "/".join(str(row.get(f"{s} unlabeled", "")) for s in STRATEGIES)
        extra = f"  {setting:<16}  {unlabeled}" if "every-nth setting" in row else ""
        lines.append(f"{row['drive']:<22}{row['frames']:>7}{cells}{gains}{extra}")
    return "\n".join(lines)


def plot(curves: dict[int, dict[str, float]], path: Path, title: str) -> None:
    """Mean mIoU against keyframes per 100 frames, one line per placement."""
    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    spacings = sorted(curves, reverse=True)
    for strategy, marker in zip(STRATEGIES, "osD", strict=True):
        axes.plot(
            [100 / s for s in spacings],
            [100 * curves[s][strategy] for s in spacings],
            marker=marker,
            label=strategy,
        )
    reach_all = 100 / (2 * RADIUS + 1)
    axes.axvline(
        reach_all, linestyle=":", color="grey", label=f"fewest that reach every frame ({reach_all:.2g})"
    )
    axes.set_xlabel(f"keyframes per 100 frames (radius {RADIUS})")
    axes.set_ylabel("mIoU over every frame (%)")
    axes.set_title(title, fontsize=9)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.savefig(path, dpi=120)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("build/families"), help="drives and outputs")
    parser.add_argument("--split", choices=["held-out", "tuning"], default="held-out")
    parser.add_argument("--families", nargs="+", choices=[f.name for f in FAMILIES], help="only these")
    parser.add_argument("--max-seeds", type=int, default=2, help="the first N seeds of each family")
    parser.add_argument(
        "--spacings",
        type=int,
        nargs="+",
        default=[20],
        help="keyframe counts as every N-th frame's (default 20)",
    )
    parser.add_argument(
        "--fewer",
        type=float,
        metavar="FRACTION",
        help="also: the first spacing's every-nth against this share fewer keyframes at a larger radius",
    )
    parser.add_argument("--plot", type=Path, help="write the mIoU-vs-count plot here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    families = [
        f for f in FAMILIES if f.split == args.split and (not args.families or f.name in args.families)
    ]
    bench = Bench(args.work, args.max_seeds, workers=1)
    results: dict[str, list[dict]] = {}
    for spacing in args.spacings:
        rows = results[f"every {spacing}"] = measure(bench, families, lambda f, s=spacing: equal_count(f, s))
        title = f"as many keyframes as every {spacing}th frame, radius {RADIUS}: mIoU (%) over every frame"
        print("\n" + table(rows, title), flush=True)
        speed = np.median([r["seconds_per_100_frames"] for r in rows])
        print(f"suggest_keyframes read motion in {speed:.2f} s per 100 frames (median of {len(rows)} drives)")
    if args.fewer:
        rows = results["fewer"] = measure(bench, families, lambda f: fewer(f, args.spacings[0], args.fewer))
        title = (
            f"every {args.spacings[0]}th frame at radius {RADIUS} against at least {100 * args.fewer:g} % "
            "fewer keyframes at the radius that reaches every frame: mIoU (%) over every frame"
        )
        print("\n" + table(rows, title), flush=True)
    (args.work / f"suggest_keyframes_{args.split}.json").write_text(json.dumps(results, indent=1) + "\n")
    if args.plot:
        means = {
            spacing: {s: float(np.mean([r[s] for r in results[f"every {spacing}"]])) for s in STRATEGIES}
            for spacing in args.spacings
        }
        names = ", ".join(f.name for f in families)
        plot(means, args.plot, f"{args.split} families, first {args.max_seeds} seed(s) each:\n{names}")
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
