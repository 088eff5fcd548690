"""adapt_labeler then bag_label on drive families, against today's defaults, with the per-frame truth.

For each drive of each family (bench/drive_families.py defines them; held-out ones were never used
to tune anything): run ``adapt_labeler`` on the drive's keyframes (no other label is read), label the
drive with ``bag_label --engines OUT/engines.yaml``, and score it like eval_labels beside the shipped
engines with today's defaults (DIS medium, tau 40) and with the previous ones (DIS fast), each method
(motion-only alone where the shipped networks do not fit the class spec). Then check the estimate:
for each method, the truth of its best-estimated setting, so the ranking by estimate can be
compared with the ranking by truth, and whether the chosen setting is within 2 points of the best of them.

    python bench/adapt_families.py --work build/families --families camvid-15hz odd-482x242 --max-seeds 1
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import yaml
from drive_families import FAMILIES, OFFSETS, TOPIC, Bench, Family, Run, default_runs, mean_over_k, text_table
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from warp_refine_ros.cli import adapt_labeler, bag_label
from warp_refine_ros.evaluation import evaluate

PREVIOUS_PRESET = "fast"  # the DIS preset of the defaults before they were tuned on drive families
COLOURS = {"motion-only": "C0", "warp-inpaint": "C1", "warp-refine": "C2"}  # one per method in every panel


def adapt(bench: Bench, family: Family, seed: int, budget: float) -> Path:
    """adapt_labeler on one drive (reused once finished)."""
    drive = bench.drive(family, seed)
    out = bench.work / family.name / str(seed) / "adapted"
    if not (out / "report.json").is_file():
        labels = out.parent / "labels"  # truths scored with the models of an earlier adaptation
        for scored in [labels / "adapted", *labels.glob("check_*")]:
            shutil.rmtree(scored, ignore_errors=True)
        args = [str(drive / "drive"), "--image-topic", TOPIC, "--labels", str(drive / "keyframes")]
        args += [
            "--classes",
            str(drive / "classes.yaml"),
            "--out",
            str(out),
            "--budget-minutes",
            f"{budget:g}",
        ]
        print(f"$ adapt_labeler {' '.join(args)}", flush=True)
        if adapt_labeler.main([*args, "--no-progress"]) != 0:
            raise SystemExit(f"adapt_labeler failed on {drive}")
    return out


def truth(bench: Bench, family: Family, seed: int, name: str, engines: list[str]) -> dict[int, float]:
    """mIoU by |k| of bag_label with the given engine arguments, scored against the drive's truth."""
    drive = bench.drive(family, seed)
    out = bench.work / family.name / str(seed) / "labels" / name
    done = out / "scores.json"
    if done.is_file():
        return {int(k): v for k, v in json.loads(done.read_text()).items()}
    args = [
        str(drive / "drive"),
        "--image-topic",
        TOPIC,
        "--labels",
        str(drive / "keyframes"),
        "--out",
        str(out),
    ]
    args += ["--radius", "10", "--no-progress", *engines]
    print(f"$ bag_label {' '.join(args)}", flush=True)
    if bag_label.main(args) != 0:
        raise SystemExit(f"bag_label failed for {out}")
    method = json.loads((out / "run.json").read_text())["method"]
    evaluation = evaluate([out], drive / "truth")
    scores = {k: s.miou for k in OFFSETS if (s := evaluation.scores(method, k)) and s.miou is not None}
    done.write_text(json.dumps(scores, indent=1) + "\n")
    return scores


def by_method(report: dict) -> dict[str, dict]:
    """Each method's best-estimated candidate made with the models adapt_labeler shipped (the shipped
    engines' baseline when it kept them, else its own calibration stages)."""
    shipped = report["g"]["source"] == "shipped"
    best: dict[str, dict] = {}
    for record in report["candidates"]:
        if record["stage"].startswith("baseline") != shipped and record["method"] != "motion-only":
            continue
        known = best.get(record["method"])
        if record["estimated_miou"] is not None and (
            known is None or record["estimated_miou"] > known["estimated_miou"]
        ):
            best[record["method"]] = record
    return best


def check_estimate(bench: Bench, family: Family, seed: int, adapted: Path) -> list[str]:
    """Truth of each method's best-estimated setting with the adapted engines; ranking and pick."""
    report = json.loads((adapted / "report.json").read_text())
    engines = adapted / "engines.yaml"
    available = {"motion-only", "warp-inpaint"} | (
        {"warp-refine"} if yaml.safe_load(engines.read_text()).get("refiner") else set()
    )
    rows = []
    for method, record in by_method(report).items():
        if method not in available:
            continue
        name = f"check {method} {record['motion']} {record['tau']:g}".replace(" ", "_").replace(":", "-")
        extra = ["--method", method, "--motion", record["motion"], "--tau", f"{record['tau']:g}"]
        drive = bench.drive(family, seed)
        extra += ["--seg", str(adapted / "seg.onnx"), "--classes", str(drive / "classes.yaml")]
        extra += ["--refiner", str(adapted / "refiner.onnx")] if method == "warp-refine" else []
        scores = truth(bench, family, seed, name, extra)
        rows.append((method, record["estimated_miou"], 100 * mean_over_k(scores)))
    by_estimate = [m for m, _, _ in sorted(rows, key=lambda r: -r[1])]
    by_truth = [m for m, _, _ in sorted(rows, key=lambda r: -r[2])]
    chosen = report["chosen"]["method"]
    best_truth = max(r[2] for r in rows)
    chosen_truth = next(r[2] for r in rows if r[0] == chosen)
    lines = [f"  {m:<13} estimate {e:5.1f}  truth (mean |k| 1..10) {t:5.1f}" for m, e, t in rows]
    verdict = "same" if by_estimate == by_truth else "DIFFERENT"
    lines.append(
        f"  ranking by estimate {by_estimate} vs truth {by_truth}: {verdict}; "
        f"chosen {chosen} is {best_truth - chosen_truth:.1f} points below the best by truth"
    )
    return lines


def plot(results: dict[str, dict], path: Path) -> Path:
    """One panel per family: mIoU against |k| for every row of its table."""
    figure = Figure(figsize=(4.2 * len(results), 3.8), layout="constrained")
    FigureCanvasAgg(figure)
    for index, (family, result) in enumerate(results.items()):
        axes = figure.add_subplot(1, len(results), index + 1)
        for name, scores in result["mean"].items():
            style = {"linewidth": 2.5} if name == "adapt_labeler" else {"alpha": 0.8}
            style["color"] = COLOURS.get(name.split()[0], "black")
            style["linestyle"] = "--" if name.endswith("(previous)") else "-"
            axes.plot(OFFSETS, [100 * scores[k] for k in OFFSETS], marker=".", label=name, **style)
        axes.set_title(family)
        axes.set_xlabel("|k| (frames from the keyframe)")
        axes.set_xticks(OFFSETS)
        axes.grid(True, alpha=0.3)
    figure.axes[0].set_ylabel("mIoU (%)")
    handles = {line.get_label(): line for axes in figure.axes for line in axes.get_lines()}
    figure.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=4, fontsize="small")
    figure.savefig(path, dpi=100)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("build/families"))
    parser.add_argument("--families", nargs="+", choices=[f.name for f in FAMILIES])
    parser.add_argument("--max-seeds", type=int, default=1)
    parser.add_argument("--budget-minutes", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="bag_label worker processes")
    parser.add_argument(
        "--no-defaults",
        action="store_true",
        help="score adapt_labeler only, not the shipped defaults beside it",
    )
    args = parser.parse_args(argv)
    bench = Bench(args.work, args.max_seeds, args.workers)
    results = {}
    for family in [f for f in FAMILIES if args.families is None or f.name in args.families]:
        rows: dict[str, list[dict[int, float]]] = {}
        checks = []
        for seed in bench.seeds(family):
            for run in [] if args.no_defaults else default_runs(family):
                previous = Run(run.method, PREVIOUS_PRESET, run.tau)
                rows.setdefault(f"{run.method} (previous)", []).append(bench.score(family, seed, previous))
                rows.setdefault(f"{run.method} (today)", []).append(bench.score(family, seed, run))
            adapted = adapt(bench, family, seed, args.budget_minutes)
            chosen = json.loads((adapted / "report.json").read_text())["chosen"]
            adapted_run = truth(bench, family, seed, "adapted", ["--engines", str(adapted / "engines.yaml")])
            rows.setdefault("adapt_labeler", []).append(adapted_run)
            checks += [f" seed {seed}: chosen {chosen['method']} {chosen['motion']} tau {chosen['tau']:g}"]
            checks += check_estimate(bench, family, seed, adapted)
        mean = {
            name: {k: float(np.mean([r[k] for r in runs])) for k in OFFSETS} for name, runs in rows.items()
        }
        print("\n" + text_table(f"{family.name} ({family.split}, {family.note}): mIoU (%) by |k|", mean))
        print("\n".join(checks), flush=True)
        results[family.name] = {"mean": mean, "checks": checks}
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "adapt_results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {plot(results, args.work / 'adapt_results.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
