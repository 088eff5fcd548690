"""The real label_node over DDS: first-label latency, time to final labels after a keyframe, dropped
frames and CPU, for camera sizes, rates, engine sets and keyframe timings.

Each configuration renders a synthetic drive (a keyframe every 20 images), labels it with bag_label as
the reference, then replays it into a freshly started label_node at the camera's rate, in a network
namespace of its own with only loopback (the node and this replayer both inside it), and compares the
last label the node published for each frame with bag_label's file. Run it with the ROS 2 venv's
Python (``make bench-node``); it needs root for the namespace.

    python bench/bench_node.py                                    # the full grid (about 15 minutes)
    python bench/bench_node.py --sizes 640x480 --rates 10 --orders on-time --repeats 3

Latency (p50, p99, max): from publishing an image to the node's first labels for it, over the images
it can label on arrival (within the radius after a keyframe label already sent). ``all p99`` takes
every image, also those beyond the radius of the previous keyframe, whose first labels can only come
with the next keyframe's backward relabeling. Final after keyframe: from publishing a keyframe label
until the last frame it relabels (among those sent before it) arrived. ``--baseline`` runs the node of
another checkout alternately with this one (an A/B on the same machine).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from warp_refine_ros.bags.keyframes import camera_name
from warp_refine_ros.node.isolation import environment, isolated, namespace_problem
from warp_refine_ros.resources import share_path

TOPIC = "/camera/image_raw"
KEYFRAME_EVERY = 20
RADIUS = 10
ENGINE_SETS = {  # the shipped networks with DIS medium (the default), fine (adapted sets) or fast
    "shipped": None,
    "dis-fine": "motion: dis:fine\nsegmentation: {models}/seg.onnx\nrefiner: {models}/refiner.onnx\n",
    "dis-fast": "motion: dis:fast\nsegmentation: {models}/seg.onnx\nrefiner: {models}/refiner.onnx\n",
}


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["640x480", "1280x720"])
    parser.add_argument("--rates", nargs="+", type=float, default=[10.0, 30.0], help="camera rates in Hz")
    parser.add_argument("--engines", nargs="+", default=["shipped", "dis-fine"], choices=list(ENGINE_SETS))
    parser.add_argument(
        "--orders", nargs="+", default=["on-time", "late"], choices=["on-time", "late", "early", "reversed"]
    )
    parser.add_argument(
        "--delay", type=int, default=5, help="images a late keyframe label comes after its image"
    )
    parser.add_argument("--frames", type=int, default=121)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="CHECKOUT",
        help="also run the node from this checkout of the package (an earlier commit), alternating with "
        "this one, for an A/B on the same machine",
    )
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    parser.add_argument("--inside", type=Path, help=argparse.SUPPRESS)  # one run, in the namespace
    return parser


def prepare(workdir: Path, size: str, frames: int, engines: str) -> dict[str, str]:
    """The drive, its engine set and bag_label's labels of it (made once per size and engine set)."""
    width, height = size.split("x")
    drive = workdir / f"drive_{size}"
    bin_dir = Path(sys.executable).parent
    if not drive.exists():
        subprocess.run(
            [
                bin_dir / "synth_drive",
                drive,
                "--frames",
                str(frames),
                "--width",
                width,
                "--height",
                height,
                "--keyframe-every",
                str(KEYFRAME_EVERY),
                "--seed",
                "7",
                "--no-progress",
            ],
            check=True,
            capture_output=True,
        )
    engine_set = ""
    if ENGINE_SETS[engines] is not None:
        path = workdir / f"{engines}.yaml"
        path.write_text(ENGINE_SETS[engines].format(models=share_path("models")), encoding="utf-8")
        engine_set = str(path)
    reference = workdir / f"reference_{size}_{engines}"
    if not reference.exists():
        subprocess.run(
            [
                bin_dir / "bag_label",
                drive / "drive",
                "--image-topic",
                TOPIC,
                "--labels",
                drive / "keyframes",
                "--out",
                reference,
                "--radius",
                str(RADIUS),
                "--no-progress",
                *(["--engines", engine_set] if engine_set else []),
            ],
            check=True,
            capture_output=True,
        )
    camera = camera_name(TOPIC)
    return {
        "bag": str(drive / "drive"),
        "keyframes": str(drive / "keyframes"),
        "labels": str(reference / "labels" / camera),
        "confidence": str(reference / "confidence" / camera),
        "engines": engine_set,
    }


def run_isolated(config: dict, workdir: Path) -> dict:
    """One replay, in a loopback-only network namespace: this script again with --inside."""
    path = workdir / "run.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    done = subprocess.run(
        isolated([sys.executable, __file__, "--inside", str(path)]),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"error: the replay failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def replay(config: dict) -> dict:
    """Inside the namespace: start the node, play the drive, measure; one JSON line on stdout."""
    import rclpy

    from warp_refine_ros.bags.images import header_stamp_ns
    from warp_refine_ros.node.isolation import check_isolated
    from warp_refine_ros.node.replay import (
        Rig,
        RosProcess,
        keyframe_labels,
        node_arguments,
        schedule,
        start_ros,
    )
    from warp_refine_ros.node.replay import stream as read_stream

    check_isolated()
    images = read_stream(Path(config["bag"]), TOPIC)
    labels = keyframe_labels(Path(config["keyframes"]))
    stamps = [header_stamp_ns(message) for message in images]
    events = schedule(stamps, labels, config["order"], config["delay"])
    parameters = {
        "radius": RADIUS,
        "publish_color": False,
        **({"engines": config["engines"]} if config["engines"] else {}),
    }
    workdir = Path(config["workdir"])
    checkout = config.get("checkout")  # the node's code from there; an older one needs AMENT_PREFIX_PATH
    env = {**os.environ, "PYTHONPATH": checkout, "AMENT_PREFIX_PATH": sys.prefix} if checkout else None
    node = RosProcess("label_node", [], node_arguments(parameters), workdir / "node.log", env)
    start_ros()
    rig = Rig()
    try:
        rig.connect(node, 120.0)
        cpu_before, started = node.cpu_seconds(), time.monotonic()
        rig.play(images, labels, events, config["rate_hz"])
        rig.quiet(2.0, 600.0)
        cpu = (node.cpu_seconds() - cpu_before) / (time.monotonic() - started)
        received = rig.received("labels")
        diagnostics = [item.message.status[0] for item in rig.received("/diagnostics")]
    finally:
        ended = node.stop()
        rig.close()
        rclpy.try_shutdown()
    figures = measure(config, stamps, rig.playback, received, cpu)
    values = {v.key: v.value for v in diagnostics[-1].values} if diagnostics else {}
    figures["queue_dropped"] = int(values.get("frames_dropped_queue_full", -1))
    figures["node_frames"] = int(values.get("frames", -1))  # images the node took in
    figures["exit_code"] = ended.code
    return figures


def measure(config: dict, stamps: list[int], playback, received, cpu: float) -> dict:
    """Latency, time to final labels after each keyframe, frames lost, and equality with bag_label."""
    first, last = {}, {}
    for item in received:
        first.setdefault(item.stamp_ns, item.arrived)
        last[item.stamp_ns] = item
    index = {stamp: i for i, stamp in enumerate(stamps)}
    sent, keys = playback.image_sent, [(index[k], t) for k, t in playback.keyframe_sent.items()]
    live = [s for s in stamps if any(0 <= index[s] - i <= RADIUS and t <= sent[s] for i, t in keys)]
    latency = {s: (first[s] - sent[s]) * 1000 for s in stamps if s in first}
    on_arrival = np.array([latency[s] for s in live if s in latency])
    worst = sorted(((round(ms), index[s]) for s, ms in latency.items()), reverse=True)[:5]
    finals = []
    for key, keyframe_sent in playback.keyframe_sent.items():
        reached = [s for s in stamps if sent[s] <= keyframe_sent and abs(index[s] - index[key]) <= RADIUS]
        arrivals = [last[s].arrived for s in reached if s in last and last[s].arrived >= keyframe_sent]
        if arrivals:
            finals.append((max(arrivals) - keyframe_sent) * 1000)
    expected = {int(path.stem): path for path in Path(config["labels"]).glob("*.png")}
    return {
        "labeled": len(set(expected) & set(last)),
        "expected": len(expected),
        "lost": len(set(expected) - set(last)),
        "differ": sum(_differs(last[s].message, path) for s, path in expected.items() if s in last),
        "p50_ms": _percentile(on_arrival, 50),
        "p99_ms": _percentile(on_arrival, 99),
        "max_ms": _percentile(on_arrival, 100),
        "all_p99_ms": _percentile(list(latency.values()), 99),
        "final_p50_ms": _percentile(finals, 50),
        "final_max_ms": _percentile(finals, 100),
        "cpu_cores": cpu,
        "worst": worst,  # (ms, image index) of the slowest first labels
    }


def _percentile(values, q: float) -> float:
    """The q-th percentile, NaN when nothing was measured (no frame labeled on arrival, say)."""
    return float(np.percentile(values, q)) if len(values) else float("nan")


def _differs(message, path: Path) -> bool:
    """The published label image is not bag_label's file."""
    import cv2

    got = np.frombuffer(message.data, np.uint8).reshape(message.height, message.width)
    return not np.array_equal(got, cv2.imread(str(path), cv2.IMREAD_UNCHANGED))


HEADER = (
    f"{'size':>9} {'Hz':>4} {'engines':>8} {'keyframes':>9} {'node':>8} {'p50':>7} {'p99':>7} {'max':>7} "
    f"{'all p99':>7} {'final p50':>9} {'final max':>9} {'lost':>5} {'queue':>5} {'differ':>6} {'cpu':>5}"
)


def row(figures: dict) -> str:
    """One run's line of the table."""
    return (
        f"{figures['size']:>9} {figures['rate_hz']:>4g} {figures['engines']:>8} {figures['order']:>9} "
        f"{figures['node']:>8} {figures['p50_ms']:>5.0f}ms {figures['p99_ms']:>5.0f}ms "
        f"{figures['max_ms']:>5.0f}ms {figures['all_p99_ms']:>5.0f}ms "
        f"{figures['final_p50_ms']:>7.0f}ms {figures['final_max_ms']:>7.0f}ms {figures['lost']:>5} "
        f"{figures['queue_dropped']:>5} {figures['differ']:>6} {figures['cpu_cores']:>5.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    if args.inside:
        print(json.dumps(replay(json.loads(args.inside.read_text(encoding="utf-8")))))
        return 0
    if problem := namespace_problem():
        print(f"error: {problem}", file=sys.stderr)
        return 2
    nodes = {"this": None, **({"baseline": str(args.baseline.resolve())} if args.baseline else {})}
    rows = []
    print(
        f"load average at start {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores); radius {RADIUS}, "
        f"a keyframe every {KEYFRAME_EVERY}, {args.frames} frames, late = {args.delay} images after"
    )
    print(HEADER)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for size, engines in itertools.product(args.sizes, args.engines):
            files = prepare(workdir, size, args.frames, engines)
            runs = itertools.product(args.rates, args.orders, range(args.repeats), nodes.items())
            for rate, order, _, (node, checkout) in runs:
                config = {
                    **files,
                    "order": order,
                    "delay": args.delay,
                    "rate_hz": rate,
                    "workdir": str(workdir),
                }
                figures = {"size": size, "rate_hz": rate, "engines": engines, "order": order, "node": node}
                figures |= run_isolated({**config, "checkout": checkout}, workdir)
                rows.append(figures)
                print(row(figures), flush=True)
    print(
        f"load average at end {os.getloadavg()[0]:.1f}; lost = frames bag_label labels that never got a "
        "label, queue = images dropped by the node, differ = last labels unlike bag_label's file, "
        "cpu = cores the node used while the drive played"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
