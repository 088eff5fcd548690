"""bag_label throughput on the CPU: frames/s per stage and end to end, against the I/O floor.

Renders a synthetic 640x480 drive into an .mcap bag, writes random-weight networks of the shipped
architecture (timing does not depend on the weights), then for each method runs ``bag_label`` in a
subprocess and reads the per-stage timings it records in run.json. The floor is the same bag read,
decoded and written (image, label, confidence) with no propagation; like it, ``labeling`` leaves
out the one-time setup (loading engines, indexing the bag), which ``with setup`` includes. Peak
memory is measured for two bag lengths to show it does not grow with the bag.

    python bench/bench_pipeline.py [--frames 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from warp_refine_ros.bags.dataset import BackgroundWriter, FrameFiles, StreamFrame
from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.engines.loading import canonical_motion
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.random_init import write_random_networks
from warp_refine_ros.propagation import Labeling
from warp_refine_ros.synth import DriveConfig, write_drive

TOPIC = "/camera/image_raw"
STAGES = ("decode", "motion", "segmentation", "refine", "write")
METHODS = ("motion-only", "semantic-only", "warp-inpaint", "warp-refine")


def floor_seconds(bag: Path, out: Path, spec: LabelSpec) -> tuple[float, int]:
    """Read + decode + write every frame with constant labels: what no labeler can beat."""
    files = FrameFiles(out, spec, "floor")
    frames = 0
    start = time.perf_counter()
    writer = BackgroundWriter(files, lambda record: None)
    with BagReader(bag) as reader:
        for message in reader.images([TOPIC]):
            image = message.decode()
            labels = np.zeros(image.shape[:2], np.uint8)
            labeling = Labeling(labels, np.full(labels.shape, 255, np.uint8), message.stamp_ns, 0)
            frame = StreamFrame("floor", TOPIC, "camera_image_raw", "camera_image_raw", message.stamp_ns)
            writer.submit(frame, image, labeling)
            frames += 1
    writer.close()
    return time.perf_counter() - start, frames


def run_bag_label(bag: Path, keyframes: Path, out: Path, method: str, engines: Path) -> tuple[dict, float]:
    """One bag_label run in a fresh process: its run.json timings and the child's peak RSS in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    command = [
        sys.executable, "-m", "warp_refine_ros.cli.bag_label", str(bag), "--image-topic", TOPIC,
        "--labels", str(keyframes), "--out", str(out), "--method", method, "--engines", str(engines),
        "--radius", "10", "--no-progress",
    ]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    record = json.loads((out / "run.json").read_text())
    return record["timings"], max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="runs per method; medians are reported")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--motion", default="dis", help="motion engine (default dis: DIS's default preset)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    args = parser.parse_args()
    spec = LabelSpec.default()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = DriveConfig(width=args.width, height=args.height, frames=args.frames, seed=7)
        drive = write_drive(root / "drive", config, keyframe_every=20, topic=TOPIC)
        models = write_random_networks(root / "models", spec)
        engines = root / "engines.yaml"
        motion = args.motion if args.motion.startswith("dis") else Path(args.motion).resolve()
        engines.write_text(
            f"motion: {motion}\nsegmentation: {models['segmentation.onnx']}\n"
            f"refiner: {models['refiner.onnx']}\n"
        )
        floors = [floor_seconds(drive.bag, root / f"floor{i}", spec) for i in range(args.repeats)]
        floor_fps = statistics.median(frames / seconds for seconds, frames in floors)
        print(
            f"{args.width}x{args.height}, {args.frames} frames, keyframe every 20, radius 10, "
            f"motion {canonical_motion(args.motion)}, median of {args.repeats} runs"
        )
        print(
            f"{'':14}" + "".join(f"{s:>13}" for s in STAGES)
            + f"{'labeling':>13}{'vs floor':>10}{'with setup':>13}"
        )  # fmt: skip
        print(f"{'floor':14}{'':>65}{floor_fps:>9.1f} f/s{1.0:>9.0%}")
        for method in args.methods:
            runs = [
                run_bag_label(drive.bag, drive.keyframes, root / f"{method}{i}", method, engines)[0]
                for i in range(args.repeats)
            ]
            stages = {
                stage: statistics.median(r["ms_per_written_frame"].get(stage, 0.0) for r in runs)
                for stage in STAGES
            }
            fps = statistics.median(r["labeling_frames_per_second"] for r in runs)
            with_setup = statistics.median(r["frames_per_second"] for r in runs)
            print(
                f"{method:14}"
                + "".join(f"{stages[s]:>10.1f} ms" for s in STAGES)
                + f"{fps:>9.1f} f/s{fps / floor_fps:>9.0%}{with_setup:>9.1f} f/s"
            )
        if args.no_memory:
            return
        print("\npeak memory of bag_label warp-inpaint (RSS, MiB) by bag length:")
        for frames in (args.frames, 3 * args.frames):
            longer = write_drive(
                root / f"drive{frames}",
                DriveConfig(width=args.width, height=args.height, frames=frames, seed=7),
                keyframe_every=20,
                topic=TOPIC,
            )
            _, peak = run_bag_label(
                longer.bag, longer.keyframes, root / f"mem{frames}", "warp-inpaint", engines
            )
            print(f"  {frames:5d} frames: {peak:7.0f} MiB")


if __name__ == "__main__":
    main()
