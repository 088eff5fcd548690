"""What adapt_labeler leaves in OUT: the engine set with its calibrated settings, the models, and the
report (JSON, Markdown and a plot) of every estimate it made."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from warp_refine_ros.adaptation.options import Outcome
from warp_refine_ros.adaptation.streams import held_out_keyframes, median_distance
from warp_refine_ros.fileio import atomic_write, write_json

MEASURES = (
    "mIoU (%) of each keyframe held out and labeled from its neighbouring keyframes as bag_label labels a "
    "frame between two keyframes (forward from the one before, backward from the one after, fused; one "
    "side at a stream's ends), pooled over keyframes, by models trained without it (two-fold "
    "cross-fitting). Labels there travel the keyframe spacing, about twice as far as bag_label's within "
    "--radius, so absolute values are lower than bag_label's mean over |k| = 1..K: it ranks settings."
)


def write_outputs(out: Path, outcome: Outcome, *, radius: int, topic: str, keyframes, extra: dict) -> dict:
    """Copy the models, write engines.yaml, report.json, report.md and report.png; the report."""
    files = {"segmentation": _copy(outcome.segmentation, out, "seg")}
    if outcome.refiner is not None:
        files["refiner"] = _copy(outcome.refiner, out, "refiner")
    chosen = outcome.chosen
    motion = chosen["motion"]  # a learned motion engine file, as an absolute path: the set lives in OUT
    motion = str(Path(motion).resolve()) if Path(motion).suffix else motion
    engine_set = {"motion": motion, **files, **{key: chosen[key] for key in ("method", "tau")}}
    engine_set["radius"] = radius
    held = held_out_keyframes(keyframes.streams, radius)
    count = sum(len(stream.keyframes) for stream in keyframes.streams)
    header = (
        f"# Written by adapt_labeler for {topic}: {count} keyframes of {len(keyframes.streams)} drive(s). "
        f"Estimated mIoU {chosen['estimated_miou']} % (see report.md).\n"
        "# bag_label --engines and label_node's engines parameter use method, tau and radius as defaults.\n"
    )
    atomic_write(out / "engines.yaml", (header + yaml.safe_dump(engine_set, sort_keys=False)).encode())
    report = {
        "chosen": {
            key: chosen.get(key)
            for key in ("method", "tau", "motion", "estimated_miou", "ms_per_frame", "stage")
        },
        "today_defaults": outcome.today,
        "candidates": outcome.records,
        "estimate": {
            "measures": MEASURES,
            "held_out_keyframes": len(held),
            "median_frames_travelled": median_distance(held),
        },
        "g": {
            "source": outcome.g_source,
            "self_training_rounds": outcome.rounds,
            "file": files["segmentation"],
        },
        "refiner": {"source": outcome.refiner_source, "file": files.get("refiner")},
        "notes": outcome.notes,
        **extra,
    }
    write_json(out / "report.json", report)
    atomic_write(out / "report.md", markdown(report).encode())
    plot(report, out / "report.png")
    return report


def markdown(report: dict) -> str:
    """The report for a person: the choice, the comparison with today's defaults, every candidate."""
    chosen, today = report["chosen"], report["today_defaults"]
    lines = [
        "# adapt_labeler report",
        "",
        f"**Chosen:** {chosen['method']}, motion {chosen['motion']}, tau {chosen['tau']:g}: estimated mIoU "
        f"**{chosen['estimated_miou']} %** (today's defaults, {today['method']} {today['motion']} tau "
        f"{today['tau']:g} with the shipped engines: {today['estimated_miou']} %).",
        "",
        f"*What the estimate measures:* {report['estimate']['measures']} Held-out keyframes: "
        f"{report['estimate']['held_out_keyframes']}, travelling a median "
        f"{report['estimate']['median_frames_travelled']} frames.",
        "",
        f"g: {report['g']['source']}, {report['g']['self_training_rounds']} self-training round(s). "
        f"Refiner: {report['refiner']['source'] or 'none (the chosen method does without)'}.",
        "",
        *[f"- {note}" for note in report["notes"]],
        "",
        "| stage | method | motion | tau | estimated mIoU % | one side % | ms a frame |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for record in report["candidates"]:
        lines.append(
            f"| {record['stage']} | {record['method']} | {record['motion']} | {_tau(record)} | "
            f"{record['estimated_miou']} | {record.get('estimated_one_sided_miou', '')} | "
            f"{record.get('ms_per_frame') or ''} |"
        )
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> None:
    """Estimated mIoU of every candidate, by stage; the chosen one and today's defaults marked."""
    records = report["candidates"]
    figure = Figure(figsize=(8, max(3.0, 0.22 * len(records) + 1)))
    axes = figure.add_subplot()
    labels = [f"{r['stage']}: {r['method']} {r['motion']}{_tau(r)}" for r in records]
    values = [r["estimated_miou"] or 0.0 for r in records]
    chosen, today = report["chosen"], report["today_defaults"]
    colours = [
        "tab:green" if _same(r, chosen) else "tab:red" if _same(r, today) else "tab:blue" for r in records
    ]
    axes.barh(range(len(records)), values, color=colours)
    axes.set_yticks(range(len(records)), labels, fontsize=6)
    axes.invert_yaxis()
    axes.set_xlabel("estimated mIoU (%), keyframe cross-validation")
    axes.set_title("adapt_labeler: green chosen, red today's defaults")
    figure.tight_layout()
    FigureCanvasAgg(figure).print_png(str(path))


def _tau(record: dict) -> str:
    """The trust threshold as shown; motion-only never uses one."""
    return "" if record["method"] == "motion-only" else f" {record['tau']:g}"


def _same(record: dict, other: dict) -> bool:
    return all(record[key] == other[key] for key in ("method", "motion", "tau", "stage"))


def _copy(checkpoint: Path, out: Path, name: str) -> str:
    """Copy a model's checkpoint and ONNX export into OUT; the engine-set entry (relative)."""
    for suffix in (".pt", ".onnx"):
        shutil.copyfile(checkpoint.with_suffix(suffix), out / f".{name}{suffix}.partial")
        (out / f".{name}{suffix}.partial").replace(out / f"{name}{suffix}")
    return f"{name}.onnx"
