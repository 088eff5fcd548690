"""Drive families: synthetic drives that do not look like the renderer's default, to check the labeler's
defaults (DIS preset, trust threshold tau, the shipped g and refiner) on data they were not tuned on.

A family is a camera and a street style: image size, frame rate, speed, stops, noise, exposure, tone
curve, colour grade, blur, compression and class spec. TUNING families are the ones defaults may be
tuned on; HELD-OUT families differ from them and from the default look in several ways at once and
are only ever measured. Their seeds never overlap the shipped models' (0-99 g, 100-101 validation,
200-299 refiner) nor the README's evaluation seeds (1000-1004).

Every drive is rendered with synth_drive, labeled with bag_label (keyframe every 20 frames, radius
10) and scored like eval_labels; drives and scored runs already in WORK are reused.

    python bench/drive_families.py --list
    python bench/drive_families.py --work build/families                  # today's defaults, all families
    python bench/drive_families.py --work build/families --sweep          # + DIS preset x tau on TUNING,
                                                                          #   winners checked on HELD-OUT
    python bench/drive_families.py --work build/families --max-seeds 2 --families night-jpeg
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from warp_refine_ros.cli import bag_label, synth_drive
from warp_refine_ros.engines.dis import DEFAULT_PRESET  # today's defaults are the package's
from warp_refine_ros.evaluation import evaluate
from warp_refine_ros.propagation import DEFAULT_TAU
from warp_refine_ros.resources import share_path

TOPIC = "/camera/image_raw"
OFFSETS = list(range(1, 11))
PRESETS = ("ultrafast", "fast", "medium")
TAUS = (20.0, 40.0, 80.0, 150.0, 300.0)
METHODS = ["motion-only", "warp-inpaint", "warp-refine"]


@dataclass(frozen=True)
class Family:
    """A style of drive: synth_drive flags beyond the seed, and the seeds to render."""

    name: str
    split: str  # "tuning" or "held-out"
    seeds: tuple[int, ...]
    flags: str = ""
    frames: int = 200
    encoding: str = "rgb8"
    jpeg_quality: int | None = None
    label_spec: str = "cityscapes"
    keyframe_every: int = 20
    note: str = ""

    def synth_args(self, out: Path, seed: int) -> list[str]:
        """synth_drive's command line for one drive of the family."""
        args = [
            str(out),
            "--seed",
            str(seed),
            "--frames",
            str(self.frames),
            "--topic",
            TOPIC,
            "--no-progress",
        ]
        args += ["--keyframe-every", str(self.keyframe_every), "--encoding", self.encoding]
        args += ["--label-spec", self.label_spec, *self.flags.split()]
        return args + ([] if self.jpeg_quality is None else ["--jpeg-quality", str(self.jpeg_quality)])

    @property
    def fits_shipped_networks(self) -> bool:
        """The shipped g and refiner speak Cityscapes' 19 classes only."""
        return self.label_spec == "cityscapes"


# name, split, seeds, synth_drive flags (each sets a DriveConfig field), then what differs from the default
FAMILIES = (
    Family(
        "tune-dashcam", "tuning", tuple(range(5000, 5005)),
        "--fps 12 --speed 10 --noise 4 --chroma-noise 2 --illumination 0.2 --defocus 0.8 --shutter 0.3",
        encoding="jpeg", jpeg_quality=80,
        note="640x480 12 fps, noisier, soft focus, some motion blur, JPEG 80",
    ),
    Family(
        "tune-warm", "tuning", tuple(range(5100, 5105)),
        "--width 704 --height 396 --fps 15 --speed 7 --white-balance 1.12,1,0.85 --saturation 0.85 "
        "--gamma 1.25 --noise 3 --row-noise 1",
        encoding="jpeg", jpeg_quality=85,
        note="704x396 15 fps, warm cast, flat colours, lifted shadows, banding, JPEG 85",
    ),
    Family(
        "camvid-15hz", "held-out", tuple(range(6000, 6005)),
        "--width 480 --height 360 --fps 15 --speed 8 --hue 6 --saturation 1.15 --exposure 1.1 --noise 3 "
        "--chroma-noise 2 --defocus 0.6",
        encoding="jpeg", jpeg_quality=75, label_spec="camvid",
        note="480x360 15 fps, CamVid's 11 classes, vivid, JPEG 75",
    ),
    Family(
        "hd-1080p", "held-out", (6100, 6101),
        "--width 1920 --height 1080 --fps 30 --speed 12 --hfov 90 --shutter 0.5 --defocus 1.5 --gamma 0.85 "
        "--saturation 1.2",
        frames=81, encoding="jpeg", jpeg_quality=90,
        note="1920x1080 30 fps, wide, motion blur, defocus, deeper shadows, JPEG 90",
    ),
    Family(
        "odd-482x242", "held-out", tuple(range(6200, 6205)),
        "--width 482 --height 242 --hfov 100 --white-balance 0.85,1,1.2 --hue -10 --gamma 0.8 --noise 3",
        encoding="bgr8",
        note="482x242 wide, cool cast, shifted hues, deeper shadows, raw bgr8",
    ),
    Family(
        "night-jpeg", "held-out", tuple(range(6300, 6305)),
        "--speed 6 --exposure 0.35 --gamma 1.9 --noise 7 --chroma-noise 5 --row-noise 2 --illumination 0.3 "
        "--defocus 0.8",
        encoding="jpeg", jpeg_quality=35,
        note="dark, pushed gain: heavy noise, colour blotches, banding, JPEG 35",
    ),
    Family(
        "fast-20mps", "held-out", tuple(range(6400, 6405)),
        "--speed 20 --shutter 0.4 --exposure 1.2 --saturation 0.9 --noise 3",
        encoding="jpeg", jpeg_quality=85,
        note="2.5x the default speed with motion blur, bright, JPEG 85",
    ),
    Family(
        "stop-and-go", "held-out", tuple(range(6500, 6505)),
        "--speed 9 --stop 3,6 --stop 13.5,4 --exposure 0.8 --hue 8 --saturation 1.25 --noise 3",
        encoding="jpeg", jpeg_quality=70,
        note="stands still 3-9 s and 13.5-17.5 s (traffic moves on), vivid, JPEG 70",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Run:
    """One labeling setting: method, DIS preset and tau (motion-only has no tau)."""

    method: str
    preset: str = DEFAULT_PRESET
    tau: float | None = DEFAULT_TAU

    @property
    def name(self) -> str:
        return f"{self.method} dis:{self.preset}" + ("" if self.tau is None else f" tau={self.tau:g}")

    @property
    def folder(self) -> str:
        return self.name.replace(" ", "_").replace(":", "-").replace("=", "")

    def bag_label_args(self, drive: Path, out: Path, workers: int) -> list[str]:
        """bag_label's command line: the shipped networks, named explicitly so the setting is pinned."""
        args = [str(drive / "drive"), "--image-topic", TOPIC, "--labels", str(drive / "keyframes")]
        args += ["--out", str(out), "--method", self.method, "--radius", "10", "--no-progress"]
        args += ["--classes", str(drive / "classes.yaml"), "--workers", str(workers)]
        args += ["--motion", f"dis:{self.preset}"]
        if self.method != "motion-only":
            args += ["--seg", str(share_path("models/seg.onnx")), "--tau", f"{self.tau:g}"]
        if self.method == "warp-refine":
            args += ["--refiner", str(share_path("models/refiner.onnx"))]
        return args


def default_run(method: str) -> Run:
    """Today's default setting of ``method``."""
    return Run(method, tau=None if method == "motion-only" else DEFAULT_TAU)


def default_runs(family: Family) -> list[Run]:
    """Today's defaults for each method the family's class spec allows."""
    return [default_run(m) for m in (METHODS if family.fits_shipped_networks else ["motion-only"])]


@dataclass
class Bench:
    """Renders drives and scores runs under ``work``, reusing what an earlier call left there."""

    work: Path
    max_seeds: int
    workers: int
    log: list[str] = field(default_factory=list)

    def seeds(self, family: Family) -> tuple[int, ...]:
        return family.seeds[: self.max_seeds]

    def drive(self, family: Family, seed: int) -> Path:
        """The rendered drive folder of one seed; rendered now unless complete already."""
        drive = self.work / family.name / str(seed) / "drive"
        if len(list((drive / "truth").glob("*.png"))) != family.frames:
            shutil.rmtree(drive, ignore_errors=True)
            print(f"$ synth_drive {' '.join(family.synth_args(drive, seed))}", flush=True)
            if synth_drive.main(family.synth_args(drive, seed)) != 0:
                raise SystemExit(f"synth_drive failed for {family.name} seed {seed}")
        return drive

    def score(self, family: Family, seed: int, run: Run) -> dict[int, float]:
        """mIoU by |k| of one run on one drive; scored once, then read from its scores.json."""
        out = self.work / family.name / str(seed) / "labels" / run.folder
        done = out / "scores.json"
        if done.is_file():
            return {int(k): v for k, v in json.loads(done.read_text()).items()}
        drive = self.drive(family, seed)
        shutil.rmtree(out, ignore_errors=True)  # bag_label would resume a half-done run, not redo it
        args = run.bag_label_args(drive, out, self.workers)
        print(f"$ bag_label {' '.join(args)}", flush=True)
        if bag_label.main(args) != 0:
            raise SystemExit(f"bag_label failed for {out}")
        evaluation = evaluate([out], drive / "truth")
        scores = {
            k: s.miou for k in OFFSETS if (s := evaluation.scores(run.method, k)) and s.miou is not None
        }
        done.write_text(json.dumps(scores, indent=1) + "\n")
        return scores

    def mean(self, family: Family, run: Run) -> dict[int, float]:
        """mIoU by |k| averaged over the family's seeds (each drive weighted equally)."""
        per_seed = [self.score(family, seed, run) for seed in self.seeds(family)]
        return {k: float(np.mean([s[k] for s in per_seed])) for k in OFFSETS}


def text_table(title: str, rows: dict[str, dict[int, float]]) -> str:
    """Plain-text table: a row per setting, mIoU (%) at |k| = 1..10 and their mean."""
    width = max(len(name) for name in rows) + 2
    head = "".join(f"{k:>6}" for k in OFFSETS) + f"{'mean':>7}"
    lines = [title, f"{'':<{width}}{head}"]
    for name, values in rows.items():
        cells = "".join(f"{100 * values[k]:6.1f}" for k in OFFSETS)
        lines.append(f"{name:<{width}}{cells}{100 * mean_over_k(values):7.1f}")
    return "\n".join(lines)


def mean_over_k(values: dict[int, float]) -> float:
    return float(np.mean([values[k] for k in OFFSETS]))


def measure_defaults(bench: Bench, families: list[Family]) -> dict[str, dict[str, dict[int, float]]]:
    """Today's defaults on every family; prints a table per family."""
    results = {}
    for family in families:
        rows = {run.method: bench.mean(family, run) for run in default_runs(family)}
        seeds = bench.seeds(family)
        print(
            "\n"
            + text_table(
                f"{family.name} ({family.split}; seeds {', '.join(map(str, seeds))}): "
                f"mIoU (%) by |k|, dis:{DEFAULT_PRESET} tau={DEFAULT_TAU:g}",
                rows,
            ),
            flush=True,
        )
        results[family.name] = rows
    return results


def sweep(bench: Bench, families: list[Family], refine_top: int) -> dict[Run, dict[int, float]]:
    """DIS preset x tau for warp-inpaint (and motion-only per preset) on the TUNING families, then
    warp-refine at the default and the ``refine_top`` best warp-inpaint settings; returns the
    mIoU by |k| of every setting pooled over the families (each family weighted equally)."""
    runs = [Run("motion-only", p, None) for p in PRESETS]
    runs += [Run("warp-inpaint", p, t) for p in PRESETS for t in TAUS]
    results = {f: {run: bench.mean(f, run) for run in runs} for f in families}
    inpaint = sorted(
        runs[len(PRESETS) :], key=lambda r: -mean_over_k(mean_rows([results[f][r] for f in families]))
    )
    refine = [Run("warp-refine", r.preset, r.tau) for r in inpaint[:refine_top]]
    refine += [r for r in [default_run("warp-refine")] if r not in refine]
    for family in families:
        results[family].update({run: bench.mean(family, run) for run in refine})
        title = f"sweep on {family.name} (seeds {_seeds(bench, family)}): mIoU (%)"
        print("\n" + text_table(title, {run.name: values for run, values in results[family].items()}))
    pooled = {run: mean_rows([results[f][run] for f in families]) for run in results[families[0]]}
    ranked = sorted(pooled, key=lambda run: (METHODS.index(run.method), -mean_over_k(pooled[run])))
    title = f"sweep pooled over {', '.join(f.name for f in families)}: mIoU (%)"
    print("\n" + text_table(title, {run.name: pooled[run] for run in ranked}))
    print("\n" + verdict(pooled), flush=True)
    return pooled


def mean_rows(rows: list[dict[int, float]]) -> dict[int, float]:
    return {k: float(np.mean([row[k] for row in rows])) for k in OFFSETS}


def best_runs(pooled: dict[Run, dict[int, float]]) -> dict[str, Run]:
    """The setting with the highest mean mIoU over |k| of each method."""
    return {
        method: max((r for r in pooled if r.method == method), key=lambda r: mean_over_k(pooled[r]))
        for method in METHODS
    }


def verdict(pooled: dict[Run, dict[int, float]]) -> str:
    """Per method: the best setting against today's default, in mIoU points."""
    lines = []
    for method, best in best_runs(pooled).items():
        default = default_run(method)
        gain = 100 * (mean_over_k(pooled[best]) - mean_over_k(pooled[default]))
        lines.append(
            f"{method}: best {best.name} {100 * mean_over_k(pooled[best]):.1f} vs default {default.name} "
            f"{100 * mean_over_k(pooled[default]):.1f} ({gain:+.1f} points)"
        )
    return "\n".join(lines)


def check_held_out(bench: Bench, families: list[Family], best: dict[str, Run]) -> dict[str, dict]:
    """The tuning winners against today's defaults on the HELD-OUT families: mean mIoU over |k|."""
    rows, lines = (
        {},
        [f"{'held-out check: mean mIoU (%)':<32}{'default':>9}{'tuned':>9}{'change':>8}  tuned setting"],
    )
    for family in families:
        for method in METHODS if family.fits_shipped_networks else ["motion-only"]:
            default = mean_over_k(bench.mean(family, default_run(method)))
            tuned = mean_over_k(bench.mean(family, best[method]))
            rows.setdefault(family.name, {})[method] = {"default": default, best[method].name: tuned}
            name, change = f"{family.name} {method}", 100 * (tuned - default)
            lines.append(
                f"{name:<32}{100 * default:9.1f}{100 * tuned:9.1f}{change:+8.1f}  {best[method].name}"
            )
    print("\n" + "\n".join(lines), flush=True)
    return rows


def tau_check(bench: Bench, families: list[Family], preset: str) -> dict[str, dict[str, float]]:
    """warp-inpaint at every tau (motion ``preset``) on the HELD-OUT families: is the tuned tau theirs too?"""
    fitting = [f for f in families if f.fits_shipped_networks]
    rows = {
        f.name: {f"{t:g}": mean_over_k(bench.mean(f, Run("warp-inpaint", preset, t))) for t in TAUS}
        for f in fitting
    }
    head = "".join(f"{f'tau={t:g}':>9}" for t in TAUS)
    lines = [f"held-out warp-inpaint dis:{preset}, mean mIoU (%) by tau", f"{'':<14}{head}"]
    lines += [f"{name:<14}" + "".join(f"{100 * v:9.1f}" for v in row.values()) for name, row in rows.items()]
    print("\n" + "\n".join(lines), flush=True)
    return rows


def _seeds(bench: Bench, family: Family) -> str:
    return ", ".join(map(str, bench.seeds(family)))


def list_families() -> str:
    """The family table as text."""
    lines = []
    for f in FAMILIES:
        seeds = f"{f.seeds[0]}-{f.seeds[-1]}"
        jpeg = f" q{f.jpeg_quality}" if f.jpeg_quality else ""
        lines.append(
            f"{f.name:<13} {f.split:<9} seeds {seeds:<10} {f.frames} frames, keyframe every "
            f"{f.keyframe_every}, {f.encoding}{jpeg}, {f.label_spec}: {f.note}\n"
            f"{'':<14}synth_drive flags: {f.flags}"
        )
    return "\n".join(lines)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("build/families"), help="drives and outputs")
    parser.add_argument(
        "--families", nargs="+", choices=[f.name for f in FAMILIES], help="only these (default all)"
    )
    parser.add_argument("--max-seeds", type=int, default=5, help="use the first N seeds of each family")
    parser.add_argument(
        "--sweep", action="store_true", help="also sweep DIS preset x tau on the TUNING families"
    )
    parser.add_argument(
        "--held-out-taus",
        action="store_true",
        help="with --sweep: also warp-inpaint at every tau on the HELD-OUT families (checked, never chosen)",
    )
    parser.add_argument("--no-defaults", action="store_true", help="skip the defaults table")
    parser.add_argument(
        "--refine-top", type=int, default=2, help="warp-refine at this many best warp-inpaint settings"
    )
    parser.add_argument("--workers", type=int, default=2, help="bag_label worker processes")
    parser.add_argument("--list", action="store_true", help="print the family table and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    if args.list:
        print(list_families())
        return 0
    families = [f for f in FAMILIES if args.families is None or f.name in args.families]
    bench = Bench(args.work, args.max_seeds, args.workers)
    results = {}
    if not args.no_defaults:
        results["defaults"] = measure_defaults(bench, families)
    if args.sweep:
        pooled = sweep(bench, [f for f in families if f.split == "tuning"], args.refine_top)
        results["sweep"] = {run.name: values for run, values in pooled.items()}
        held_out = [f for f in families if f.split == "held-out"]
        if held_out:
            best = best_runs(pooled)
            results["held_out_check"] = check_held_out(bench, held_out, best)
            if args.held_out_taus:
                results["held_out_taus"] = tau_check(bench, held_out, best["warp-inpaint"].preset)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwrote {args.work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
