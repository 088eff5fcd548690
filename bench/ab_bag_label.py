"""A/B of bag_label's CPU throughput against an earlier commit, alternating runs on the same bag.

The earlier commit is checked out into a temporary git worktree and run from there (PYTHONPATH), the
current tree from here; runs alternate A, B, A, B, ... so both see the same machine load. Reports the
labeling rate (frames/s after setup, from run.json) of each run, the medians and their ratio.

    python bench/ab_bag_label.py --baseline c8f70a3 [--pairs 3] [--frames 200] [--methods warp-inpaint]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from warp_refine_ros.synth import DriveConfig, write_drive

ROOT = Path(__file__).resolve().parent.parent
TOPIC = "/camera/image_raw"


def rate(code: Path, drive, out: Path, method: str, engines: Path) -> float:
    """One bag_label run of the code at ``code``; its labeling frames/s."""
    command = [sys.executable, "-m", "warp_refine_ros.cli.bag_label", str(drive.bag), "--image-topic", TOPIC]
    command += ["--labels", str(drive.keyframes), "--out", str(out), "--method", method, "--no-progress"]
    command += ["--engines", str(engines)]
    environment = {**os.environ, "PYTHONPATH": str(code)}
    subprocess.run(command, check=True, cwd=code, env=environment, stdout=subprocess.DEVNULL)
    return json.loads((out / "run.json").read_text())["timings"]["labeling_frames_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", required=True, help="the earlier commit (A)")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--methods", nargs="+", default=["motion-only", "warp-inpaint", "warp-refine"])
    parser.add_argument(
        "--motion", default="dis:fast", help="flow of both sides (default dis:fast: the same work on both)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        engines = work / "engines.yaml"  # one engine set for both sides, so only the code differs
        models = ROOT / "models"
        engines.write_text(
            f"motion: {args.motion}\nsegmentation: {models / 'seg.onnx'}\n"
            f"refiner: {models / 'refiner.onnx'}\n"
        )
        baseline = work / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(baseline), args.baseline],
            check=True,
        )
        try:
            drive = write_drive(
                work / "drive", DriveConfig(frames=args.frames, seed=1000), keyframe_every=20, topic=TOPIC
            )
            print(
                f"bag_label on a {args.frames}-frame 640x480 drive, labeling frames/s: "
                f"A = {args.baseline}, B = this tree; motion {args.motion}"
            )
            for method in args.methods:
                rates: dict[str, list[float]] = {"A": [], "B": []}
                for pair in range(args.pairs):
                    for side, code in (("A", baseline), ("B", ROOT)):
                        rates[side].append(
                            rate(code, drive, work / f"{method}-{side}-{pair}", method, engines)
                        )
                a, b = (statistics.median(rates[side]) for side in "AB")
                runs = "  ".join(f"{x:.1f}/{y:.1f}" for x, y in zip(rates["A"], rates["B"], strict=True))
                print(f"{method:<13} A/B per pair {runs}   median A {a:.1f}  B {b:.1f}  B/A {b / a:.2f}")
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], check=True
            )


if __name__ == "__main__":
    main()
