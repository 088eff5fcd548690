"""synth_drive: render a synthetic street drive into a bag, with keyframe and ground-truth label PNGs."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from warp_refine_ros.bags.writer import COMPRESSED_FORMATS, ENCODINGS, STORAGES
from warp_refine_ros.cli.common import run_cli
from warp_refine_ros.synth import DriveConfig, write_drive


def get_parser() -> argparse.ArgumentParser:
    """The command line; returned so wrappers can extend it."""
    defaults = DriveConfig()
    parser = argparse.ArgumentParser(
        prog="synth_drive",
        description=(
            "Render a synthetic drive: a street seen from a forward-moving vehicle camera, with the "
            "exact class (Cityscapes train ids) of every pixel. Writes OUT/drive (ROS 2 bag directory) "
            "or OUT/drive.bag (ROS 1), OUT/keyframes/<stamp_ns>.png (every N-th frame's labels, as a "
            "human labeler would deliver them), OUT/truth/<stamp_ns>.png (every frame) and "
            "OUT/classes.yaml. The same seed always gives the same drive; different seeds give "
            "different streets, traffic and colours."
        ),
    )
    parser.add_argument(
        "out", type=Path, metavar="OUT", help="output directory (created; must not hold a drive)"
    )
    parser.add_argument(
        "--frames", type=int, default=defaults.frames, help="number of frames (default %(default)s)"
    )
    parser.add_argument("--width", type=int, default=defaults.width, help="image width (default %(default)s)")
    parser.add_argument(
        "--height", type=int, default=defaults.height, help="image height (default %(default)s)"
    )
    parser.add_argument("--fps", type=float, default=defaults.fps, help="frame rate (default %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="drive seed (default %(default)s)")
    parser.add_argument(
        "--speed", type=float, default=defaults.speed_mps, help="vehicle speed in m/s (default %(default)s)"
    )
    parser.add_argument(
        "--keyframe-every",
        type=int,
        default=10,
        metavar="N",
        help="label every N-th frame (default %(default)s)",
    )
    parser.add_argument(
        "--storage", choices=STORAGES, default="mcap", help="bag format (default %(default)s)"
    )
    parser.add_argument("--topic", default="/camera/image_raw", help="image topic (default %(default)s)")
    parser.add_argument(
        "--encoding",
        choices=[*ENCODINGS, *COMPRESSED_FORMATS],
        default="rgb8",
        help="sensor_msgs/Image encoding, or jpeg/png for sensor_msgs/CompressedImage (default %(default)s)",
    )
    parser.add_argument(
        "--label-topic",
        metavar="TOPIC",
        help="also write the keyframe labels into the bag on this topic (mono8, the image's header stamp)",
    )
    parser.add_argument("--frame-id", default="camera", help="header frame_id (default %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Render and write the drive; exit 2 with 'error: ...' on bad input."""
    return run_cli(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    args = get_parser().parse_args(argv)
    config = DriveConfig(
        width=args.width,
        height=args.height,
        frames=args.frames,
        fps=args.fps,
        seed=args.seed,
        speed_mps=args.speed,
    )
    start = time.perf_counter()
    with tqdm(total=config.frames, unit="frame", desc="synth_drive", file=sys.stderr) as bar:
        files = write_drive(
            args.out,
            config,
            keyframe_every=args.keyframe_every,
            storage=args.storage,
            topic=args.topic,
            encoding=args.encoding,
            label_topic=args.label_topic,
            frame_id=args.frame_id,
            progress=lambda frame: bar.update(1),
        )
    seconds = time.perf_counter() - start
    print(
        f"wrote {len(files.stamps_ns)} frames ({config.width}x{config.height}, seed {config.seed}) "
        f"in {seconds:.1f} s to {files.bag} on {files.topic} [{args.encoding}]"
    )
    print(f"keyframes: {len(files.keyframe_stamps_ns)} in {files.keyframes}; truth: {files.truth}")
    if files.label_topic:
        print(f"keyframe labels also on {files.label_topic}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
