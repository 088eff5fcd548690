"""build_engines: compile an engine set's networks into TensorRT engines for this machine's GPU."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from warp_refine_ros.cli.common import run_cli
from warp_refine_ros.engines.sidecar import PRECISIONS
from warp_refine_ros.engines.tensorrt import cuda_device, import_tensorrt
from warp_refine_ros.errors import EngineError
from warp_refine_ros.networks.motion_export import DEFAULT_ITERATIONS, VARIANTS
from warp_refine_ros.trt.build import GIB, BuildOptions
from warp_refine_ros.trt.engine_set import (
    ONNX_SET,
    TENSORRT_SET,
    RaftExport,
    build_engine_set,
    prepare_onnx,
    write_engine_set,
)
from warp_refine_ros.trt.parity import DEFAULT_TOLERANCES, Tolerance
from warp_refine_ros.trt.profiles import CameraSizes, format_size, parse_size


def get_parser() -> argparse.ArgumentParser:
    """The command line; returned so wrappers can extend it."""
    parser = argparse.ArgumentParser(
        prog="build_engines",
        description=(
            "Build TensorRT engines for this machine's GPU from an engine-set YAML (motion, segmentation, "
            "refiner). Checkpoints (.pt) are exported to ONNX first; 'dis' motion stays as it is. Each "
            "engine is checked against ONNX Runtime on sample inputs and only written if it matches. Writes "
            f"OUT/<role>.engine with its .json sidecar, OUT/{TENSORRT_SET} (TensorRT) and OUT/{ONNX_SET} "
            "(ONNX Runtime): give either to bag_label --engines."
        ),
    )
    parser.add_argument("engines", type=Path, metavar="ENGINES_YAML", help="engine set to build from")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="where engines and sets go")
    motion = parser.add_argument_group("learned motion engine (torchvision RAFT; needs torchvision)")
    motion.add_argument(
        "--motion", choices=VARIANTS, help="export this RAFT as the motion engine instead of the set's entry"
    )
    motion.add_argument(
        "--raft-weights", type=Path, metavar="FILE", help="RAFT state dict (default: the torch hub cache)"
    )
    motion.add_argument(
        "--raft-iterations",
        type=int,
        default=DEFAULT_ITERATIONS,
        help=f"flow updates per frame pair (default {DEFAULT_ITERATIONS})",
    )
    build = parser.add_argument_group("TensorRT build")
    build.add_argument(
        "--precision", choices=PRECISIONS, default="fp16", help="engine precision (default fp16)"
    )
    build.add_argument(
        "--size",
        default="1920x1080",
        help="typical camera image WxH, the shape optimised for (default 1920x1080)",
    )
    build.add_argument("--min-size", default="320x240", help="smallest camera image WxH (default 320x240)")
    build.add_argument("--max-size", help="largest camera image WxH (default: --size)")
    build.add_argument(
        "--workspace", type=float, default=4.0, metavar="GIB", help="builder workspace limit (default 4 GiB)"
    )
    build.add_argument(
        "--timing-cache",
        type=Path,
        metavar="FILE",
        help="timing cache reused across builds (default OUT/timing.cache)",
    )
    build.add_argument("--device", default="cuda", help="GPU to build for: cuda or cuda:N (default cuda)")
    build.add_argument(
        "--onnx-only",
        action="store_true",
        help=f"only export the ONNX files and write OUT/{ONNX_SET} (needs no TensorRT or GPU)",
    )
    parity = parser.add_argument_group("parity check against ONNX Runtime (CPU)")
    parity.add_argument(
        "--parity-size",
        default="640x480",
        help="sample image WxH, clamped to the size range (default 640x480)",
    )
    parity.add_argument("--no-parity", action="store_true", help="skip the check (the sidecar records none)")
    for name, meaning in (
        ("atol", "absolute"),
        ("rtol", "relative (to the output's peak)"),
        ("min-agreement", "least fraction of agreeing labels / flow vectors"),
    ):
        defaults = ", ".join(
            f"{p} {getattr(t, name.replace('-', '_')):g}" for p, t in DEFAULT_TOLERANCES.items()
        )
        parity.add_argument(f"--{name}", type=float, help=f"{meaning} tolerance (default {defaults})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Export, build, check and write the engines; exit 2 with 'error: ...' on bad input or a failed check."""
    return run_cli(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    if args.raft_iterations < 1:
        parser.error("--raft-iterations must be at least 1")
    if (args.raft_weights is not None) and args.motion is None:
        parser.error("--raft-weights goes with --motion raft_small|raft_large")
    sizes = CameraSizes(
        min=parse_size(args.min_size), opt=parse_size(args.size), max=parse_size(args.max_size or args.size)
    )
    options = BuildOptions(
        precision=args.precision,
        workspace_bytes=int(args.workspace * GIB),
        timing_cache=args.timing_cache or args.out / "timing.cache",
        device=args.device,
        tolerance=_tolerance(parser, args),
    )
    if not args.onnx_only:  # fail before any export when TensorRT or the GPU is missing
        import_tensorrt()
        cuda_device(args.device)
    raft = RaftExport(args.motion, args.raft_weights, args.raft_iterations) if args.motion else None
    entries = prepare_onnx(args.engines, args.out, raft=raft)
    onnx_set = write_engine_set(
        args.out / ONNX_SET,
        entries,
        comment=f"ONNX Runtime engine set written by build_engines from {args.engines}.",
    )
    print(f"wrote {onnx_set}")
    if args.onnx_only:
        return 0
    parity_size = None if args.no_parity else parse_size(args.parity_size)
    built = build_engine_set(entries, args.out, sizes=sizes, options=options, parity_size=parity_size)
    if not built:
        raise EngineError(f"engine set {args.engines} names no network to build (only file-less engines)")
    for role, engine in built.items():
        check = engine.parity.summary().replace("\n", "; ") if engine.parity else "parity check skipped"
        print(f"{role:<13} {engine.path}  {args.precision}, built in {engine.build_seconds:.0f} s; {check}")
    environment = next(iter(built.values())).sidecar.environment
    tensorrt_set = write_engine_set(
        args.out / TENSORRT_SET,
        {role: str(built[role].path) if role in built else value for role, value in entries.items()},
        comment=(
            f"TensorRT engine set written by build_engines from {args.engines}: {args.precision} engines for "
            f"camera images {format_size(sizes.min)} to {format_size(sizes.max)}, built with "
            f"{environment.describe()}.\nThey only run there: rebuild them with build_engines elsewhere."
        ),
    )
    print(f"wrote {tensorrt_set}")
    return 0


def _tolerance(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Tolerance | None:
    """The parity tolerance with any --atol/--rtol/--min-agreement applied; None keeps the defaults."""
    given = {
        name: value
        for name, value in (("atol", args.atol), ("rtol", args.rtol), ("min_agreement", args.min_agreement))
        if value is not None
    }
    if any(value < 0 for value in given.values()) or given.get("min_agreement", 0) > 1:
        parser.error("--atol and --rtol must be >= 0 and --min-agreement in [0, 1]")
    return replace(DEFAULT_TOLERANCES[args.precision], **given) if given else None


if __name__ == "__main__":
    raise SystemExit(main())
