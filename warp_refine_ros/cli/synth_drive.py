"""synth_drive: render a synthetic street drive into a bag, with keyframe and ground-truth label PNGs."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from warp_refine_ros.bags.writer import COMPRESSED_FORMATS, ENCODINGS, STORAGES
from warp_refine_ros.cli.common import run_cli
from warp_refine_ros.progress import progress_bar
from warp_refine_ros.synth import DriveConfig, SynthError, write_drive
from warp_refine_ros.synth.files import BAG_NAME
from warp_refine_ros.synth.specs import LABEL_SPECS
from warp_refine_ros.synth.stops import RAMP_S


def get_parser() -> argparse.ArgumentParser:
    """The command line; returned so wrappers can extend it."""
    defaults = DriveConfig()
    parser = argparse.ArgumentParser(
        prog="synth_drive",
        description=(
            "Render a synthetic drive: a street seen from a forward-moving vehicle camera, with the "
            "exact class (Cityscapes train ids) of every pixel. Writes OUT/NAME (ROS 2 bag directory) "
            "or OUT/NAME.bag (ROS 1), OUT/keyframes/<stamp_ns>.png (every N-th frame's labels, as a "
            "human labeler would deliver them), OUT/truth/<stamp_ns>.png (every frame) and "
            "OUT/classes.yaml: one drive per OUT, written whole or not at all (a full disk leaves "
            "nothing behind). The same seed always gives the same drive; different seeds give "
            "different streets, traffic and colours. The camera-look options change the image, never "
            "the labels; at their defaults a drive is the one the shipped models were trained on."
        ),
    )
    _add_drive(parser, defaults)
    _add_bag(parser)
    add_look_arguments(parser.add_argument_group("camera look (defaults: the look the shipped models know)"))
    return parser


def _add_drive(parser: argparse.ArgumentParser, defaults: DriveConfig) -> None:
    """Where the drive goes, and the drive itself: frames, size, rate, seed, speed, keyframes."""
    parser.add_argument(
        "out", type=Path, metavar="OUT", help="output directory (created; must not hold a drive)"
    )
    parser.add_argument(
        "--name",
        default=BAG_NAME,
        help="the bag's name: OUT/NAME, or OUT/NAME.bag for ROS 1 (default %(default)s); give each drive "
        "its own, as bag_label tells the bags of one run apart by name",
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


def _add_bag(parser: argparse.ArgumentParser) -> None:
    """How the drive is written (bag format, topic, encoding, labels, JPEG quality) and where it stops."""
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
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--label-spec",
        choices=LABEL_SPECS,
        default="cityscapes",
        help="class spec of the label PNGs and OUT/classes.yaml: Cityscapes' 19 train ids, or CamVid's "
        "11 classes (sky, building, pole, road, sidewalk, tree, sign symbol, fence, car, pedestrian, "
        "bicyclist) (default %(default)s)",
    )
    parser.add_argument(
        "--jpeg-quality",
        type=int,
        metavar="Q",
        help="JPEG quality 1..100 with --encoding jpeg (default 95)",
    )
    parser.add_argument(
        "--stop",
        type=_floats(2),
        action="append",
        default=[],
        metavar="START,SECONDS",
        help="stand still for SECONDS from START s (braking before it, pulling away after it, "
        f"{RAMP_S:g} s each); repeat for several stops",
    )


def add_look_arguments(group: argparse._ArgumentGroup) -> None:
    """The sensor and colour options, each a DriveConfig field."""
    d = DriveConfig()
    group.add_argument(
        "--hfov",
        type=float,
        default=d.hfov_deg,
        help="horizontal field of view, degrees (default %(default)s)",
    )
    group.add_argument(
        "--noise",
        type=float,
        default=d.noise_sigma,
        metavar="SIGMA",
        help="per-pixel sensor noise, 8-bit grey levels (default %(default)s)",
    )
    group.add_argument(
        "--chroma-noise",
        type=float,
        default=d.chroma_noise,
        metavar="SIGMA",
        help="blotchy low-frequency colour noise, grey levels (default %(default)s)",
    )
    group.add_argument(
        "--row-noise",
        type=float,
        default=d.row_noise,
        metavar="SIGMA",
        help="per-row read-out offsets (banding), grey levels (default %(default)s)",
    )
    group.add_argument(
        "--illumination",
        type=float,
        default=d.illumination,
        metavar="A",
        help="relative amplitude of the slow exposure and white-balance drift, 0..0.5 (default %(default)s)",
    )
    group.add_argument(
        "--exposure",
        type=float,
        default=d.exposure,
        metavar="GAIN",
        help="global exposure gain, e.g. 0.5 for one stop darker (default %(default)s)",
    )
    group.add_argument(
        "--gamma",
        type=float,
        default=d.gamma,
        help="tone curve 255 (x / 255) ^ (1 / GAMMA): above 1 lifts the shadows (default %(default)s)",
    )
    group.add_argument(
        "--hue", type=float, default=d.hue_deg, metavar="DEG", help="rotate every hue (default %(default)s)"
    )
    group.add_argument(
        "--saturation",
        type=float,
        default=d.saturation,
        help="0 grey, 1 as rendered, above 1 more vivid (default %(default)s)",
    )
    group.add_argument(
        "--white-balance",
        type=_floats(3),
        default=d.white_balance,
        metavar="R,G,B",
        help="colour cast: gains on red, green, blue, e.g. 1.15,1,0.8 (default 1,1,1)",
    )
    group.add_argument(
        "--defocus",
        type=float,
        default=d.defocus_px,
        metavar="PX",
        help="radius of the out-of-focus blur disk in pixels (default %(default)s)",
    )
    group.add_argument(
        "--shutter",
        type=float,
        default=d.shutter,
        metavar="FRACTION",
        help="exposure time as a fraction of the frame interval; motion blur (default %(default)s)",
    )


def _floats(count: int) -> Callable[[str], tuple[float, ...]]:
    """argparse type: ``count`` comma-separated numbers."""

    def parse(text: str) -> tuple[float, ...]:
        values = tuple(float(v) for v in text.split(","))
        if len(values) != count:
            raise ValueError(f"need {count} comma-separated numbers, got {text!r}")
        return values

    parse.__name__ = f"{count} comma-separated numbers"  # what argparse names in its error
    return parse


def main(argv: Sequence[str] | None = None) -> int:
    """Render and write the drive; exit 2 with 'error: ...' on bad input."""
    return run_cli(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    args = get_parser().parse_args(argv)
    if args.jpeg_quality is not None and args.encoding != "jpeg":
        raise SynthError(f"--jpeg-quality needs --encoding jpeg, not {args.encoding}")
    config = DriveConfig(
        width=args.width,
        height=args.height,
        frames=args.frames,
        fps=args.fps,
        seed=args.seed,
        speed_mps=args.speed,
        hfov_deg=args.hfov,
        noise_sigma=args.noise,
        illumination=args.illumination,
        stops=tuple(args.stop),
        exposure=args.exposure,
        gamma=args.gamma,
        hue_deg=args.hue,
        saturation=args.saturation,
        white_balance=args.white_balance,
        defocus_px=args.defocus,
        shutter=args.shutter,
        chroma_noise=args.chroma_noise,
        row_noise=args.row_noise,
    )
    start = time.perf_counter()
    bar = progress_bar(total=config.frames, unit="frame", desc="synth_drive", enabled=not args.no_progress)
    with bar:
        files = write_drive(
            args.out,
            config,
            keyframe_every=args.keyframe_every,
            storage=args.storage,
            topic=args.topic,
            encoding=args.encoding,
            label_topic=args.label_topic,
            frame_id=args.frame_id,
            label_spec=args.label_spec,
            jpeg_quality=95 if args.jpeg_quality is None else args.jpeg_quality,
            name=args.name,
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
