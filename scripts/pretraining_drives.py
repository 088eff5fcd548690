"""Render the refiner's pretraining drives: synthetic streets, each seen through a camera look drawn at
random from its seed, so that Omega learns to correct propagation on no camera in particular.

Every drive gets an image size, frame rate, speed, field of view, noise, tone curve, colour cast, blur and
compression drawn from wide ranges (``random_look``), and keyframe labels every few frames (more cycles
per drive). The ranges are generic camera variations; they were not chosen to resemble the held-out
drive families of ``bench/drive_families.py`` (seeds 6000+), whose seeds never appear here.

    python scripts/pretraining_drives.py OUT --seeds 7000-7119 [--frames 60] [--keyframe-every 5]

writes ``OUT/<seed>/drive`` (the bag) and ``OUT/<seed>/keyframes/``; a drive already complete is kept,
so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

from warp_refine_ros.cli import synth_drive

TOPIC = "/camera/image_raw"
SIZES = ((640, 480), (480, 360), (704, 396), (560, 420), (800, 450), (512, 288))


def random_look(seed: int) -> list[str]:
    """synth_drive's look and motion flags for one drive, a pure function of its seed."""
    rng = np.random.default_rng([seed, 7])
    width, height = SIZES[int(rng.integers(len(SIZES)))]

    def pick(low: float, high: float, chance: float = 1.0) -> float:
        return float(rng.uniform(low, high)) if rng.random() < chance else 0.0

    flags = {
        "--width": width,
        "--height": height,
        "--fps": float(rng.choice([8, 10, 12, 15, 20, 25, 30])),
        "--speed": pick(4, 18),
        "--hfov": pick(55, 100),
        "--noise": pick(0.5, 6),
        "--chroma-noise": pick(0, 4, 0.5),
        "--row-noise": pick(0, 2, 0.3),
        "--illumination": pick(0, 0.3),
        "--exposure": float(np.exp(rng.uniform(np.log(0.4), np.log(1.5)))),
        "--gamma": pick(0.7, 1.8),
        "--hue": pick(-15, 15),
        "--saturation": pick(0.7, 1.3),
        "--defocus": pick(0, 1.5, 0.6),
        "--shutter": pick(0, 0.5, 0.5),
    }
    args = [item for name, value in flags.items() for item in (name, f"{value:.4g}")]
    args += ["--white-balance", ",".join(f"{g:.3f}" for g in rng.uniform(0.85, 1.15, 3))]
    if rng.random() < 0.7:
        args += ["--encoding", "jpeg", "--jpeg-quality", str(int(rng.integers(35, 96)))]
    return args


def render(out: Path, seed: int, frames: int, keyframe_every: int) -> Path:
    """One drive folder, rendered unless already complete."""
    drive = out / str(seed)
    if len(list((drive / "truth").glob("*.png"))) == frames:
        return drive
    shutil.rmtree(drive, ignore_errors=True)
    args = [str(drive), "--seed", str(seed), "--frames", str(frames), "--topic", TOPIC, "--no-progress"]
    args += ["--keyframe-every", str(keyframe_every), *random_look(seed)]
    if synth_drive.main(args) != 0:
        raise SystemExit(f"synth_drive failed for seed {seed}: {' '.join(args)}")
    return drive


def seed_range(text: str) -> range:
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seeds", type=seed_range, default=seed_range("7000-7119"), help="FIRST-LAST")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--keyframe-every", type=int, default=5)
    args = parser.parse_args()
    for seed in args.seeds:
        render(args.out, seed, args.frames, args.keyframe_every)


if __name__ == "__main__":
    main()
