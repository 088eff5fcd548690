"""Per-frame latency of the live labeler's session at 640x480 on the CPU, forward mode.

Every frame after a keyframe is labeled at once by the forward recursion, as the live node does for
each camera frame within K of a keyframe. The time of ``LabelingSession.add_frame`` is measured per
frame (engines included, ROS message conversion excluded), with a breakdown by engine. The target is a
p99 under 100 ms, which keeps up with a 10 Hz camera.

    python bench/bench_session.py                      # the shipped engine set
    python bench/bench_session.py --random-networks    # DIS + random-weight ONNX networks, same size
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from warp_refine_ros.engines import EngineSet
from warp_refine_ros.engines.loading import DEFAULT_ENGINES, default_engines
from warp_refine_ros.errors import WarpRefineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.node import LabelingSession, SessionConfig
from warp_refine_ros.propagation import Method
from warp_refine_ros.synth import DriveConfig, render_drive
from warp_refine_ros.timing import StageTimes, TimedEngine

TARGET_P99_MS = 100.0  # a 10 Hz camera


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", help=f"engine-set YAML (default: the shipped {DEFAULT_ENGINES})")
    parser.add_argument(
        "--random-networks",
        action="store_true",
        help="DIS motion with random-weight ONNX segmentation and refiner networks of the shipped design",
    )
    parser.add_argument("--method", default=str(Method.WARP_REFINE), choices=[m.value for m in Method])
    parser.add_argument("--frames", type=int, default=120, help="frames timed after the keyframe")
    parser.add_argument("--warmup", type=int, default=5, help="frames run first and not timed")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def load_engines(args: argparse.Namespace, workdir: Path) -> tuple[EngineSet, str]:
    """The engines to time and a description of them."""
    if args.random_networks:
        from warp_refine_ros.networks.random_init import write_random_networks  # needs torch

        paths = write_random_networks(workdir, LabelSpec.default())
        engines = EngineSet.from_files(
            motion="dis", segmentation=str(paths["segmentation.onnx"]), refiner=str(paths["refiner.onnx"])
        )
        return engines, "DIS + random-weight ONNX segmentation and refiner (onnxruntime CPU)"
    path = Path(args.engines) if args.engines else default_engines()
    return EngineSet.from_yaml(path), str(path)


def timed(engines: EngineSet, times: StageTimes) -> EngineSet:
    """The same engines, each call counted toward its stage."""
    return EngineSet(
        motion=TimedEngine(engines.motion, "flow", "motion", times) if engines.motion else None,
        segmentation=TimedEngine(engines.segmentation, "segment", "segmentation", times)
        if engines.segmentation
        else None,
        refiner=TimedEngine(engines.refiner, "refine", "refine", times) if engines.refiner else None,
    )


def run(args: argparse.Namespace) -> dict:
    """Label warmup + frames frames forward from a keyframe; per-frame latency statistics."""
    total = args.warmup + args.frames + 1
    drive = render_drive(DriveConfig(width=args.width, height=args.height, frames=total, seed=0))
    with tempfile.TemporaryDirectory() as workdir:
        engines, description = load_engines(args, Path(workdir))
        times = StageTimes()
        spec = engines.segmentation.spec if engines.segmentation else LabelSpec.default()
        session = LabelingSession(
            spec,
            timed(engines, times),
            SessionConfig().with_changes(method=args.method, radius=total, buffer_size=30),
            warn=lambda message: None,  # forward only: the buffer need not cover the radius here
        )
        key, *frames = drive.frames
        session.add_frame(key.image, key.stamp_ns)
        session.add_keyframe(key.labels, key.stamp_ns)
        latencies = []
        for index, frame in enumerate(frames):
            if index == args.warmup:
                times.seconds.clear()
                times.calls.clear()
            started = time.perf_counter()
            (output,) = session.add_frame(frame.image, frame.stamp_ns)
            elapsed = time.perf_counter() - started
            if output.offset != index + 1:
                raise RuntimeError(f"frame {frame.index} was not labeled forward: {output.source}")
            if index >= args.warmup:
                latencies.append(elapsed)
    ms = np.asarray(latencies) * 1000.0
    return {
        "engines": description,
        "method": args.method,
        "size": f"{args.width}x{args.height}",
        "frames": len(ms),
        "median_ms": round(float(np.median(ms)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "mean_ms": round(float(ms.mean()), 2),
        "max_ms": round(float(ms.max()), 2),
        "stages_ms_per_frame": {
            name: round(1000 * seconds / len(ms), 2) for name, seconds in sorted(times.seconds.items())
        },
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": bool(np.percentile(ms, 99) < TARGET_P99_MS),
    }


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    try:
        result = run(args)
    except WarpRefineError as err:
        print(f"error: {err}", file=sys.stderr)
        if not args.random_networks and not args.engines:
            print("the shipped models are missing here; time with --random-networks", file=sys.stderr)
        return 2
    print(f"session latency, {result['method']}, {result['size']}, {result['frames']} frames, forward mode")
    print(f"engines: {result['engines']}")
    print(
        f"median {result['median_ms']:.1f} ms   p99 {result['p99_ms']:.1f} ms   "
        f"mean {result['mean_ms']:.1f} ms   max {result['max_ms']:.1f} ms"
    )
    stages = ", ".join(f"{name} {value:.1f} ms" for name, value in result["stages_ms_per_frame"].items())
    print(f"per frame: {stages}")
    verdict = "met" if result["meets_target"] else "MISSED"
    print(f"target p99 < {TARGET_P99_MS:.0f} ms (10 Hz camera): {verdict}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
