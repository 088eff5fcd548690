"""Time the TensorRT engines on a GPU: frames/s per engine and per propagation step, FP32 vs FP16.

    python bench/bench_gpu.py [--models DIR] [--motion raft_small|raft_large|none]
                              [--sizes 1920x1080,640x480] [--precisions fp32,fp16] [--json FILE]

For each precision, one engine set is built with build_engines' code for camera images from the
smallest to the largest size (TensorRT optimises for the largest), each engine is checked against
ONNX Runtime at the smallest size (reported, not enforced), then every size is timed:

  network  the engine alone on inputs already on the GPU (tensor API), synchronised
  call     the protocol call the propagation makes: numpy in, pre-processing, engine, numpy out
  chained  motion, g and Omega through the tensor API on one uploaded frame pair, g's probabilities
           handed to Omega on the GPU, the labels downloaded (warp and inpaint not included)
  step     a whole warp-refine propagation step as bag_label runs it (engines + numpy warp/inpaint)
  bag      bag_label end to end (a synthetic mcap drive in, a dataset out) with the TensorRT set and the
           torch propagation backend on the GPU, per method: labeling frames/s, peak GPU memory, and
           the slowest stage per written frame (the bottleneck)

``--models`` is a folder with segmentation.pt/.onnx and refiner.pt/.onnx; without it, networks with
random weights are used (timing does not depend on the weights). RAFT uses ``--raft-weights`` or
torchvision's cached weights if present, random weights otherwise; ``--motion none`` times DIS.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from bench_engines import scene, time_calls

from warp_refine_ros.engines.dis import DEFAULT_PRESET, DisMotion
from warp_refine_ros.engines.preprocess import scaled_size
from warp_refine_ros.engines.tensorrt import (
    TensorRTModel,
    TensorRTMotion,
    TensorRTRefiner,
    TensorRTSegmentation,
    cuda_device,
    current_environment,
    image_batch,
)
from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.motion_export import VARIANTS, default_weights_path
from warp_refine_ros.networks.random_init import write_random_networks
from warp_refine_ros.propagation import Frame, Method, Propagator
from warp_refine_ros.trt.build import GIB, BuildOptions
from warp_refine_ros.trt.engine_set import Entries, RaftExport, build_engine_set, prepare_onnx, read_metadata
from warp_refine_ros.trt.parity import DEFAULT_TOLERANCES, check_parity
from warp_refine_ros.trt.profiles import CameraSizes, Size, format_size, padded_size, parse_size
from warp_refine_ros.trt.samples import sample_feeds


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="folder with segmentation.pt/.onnx and refiner.pt/.onnx")
    parser.add_argument(
        "--motion", default="raft_small", choices=[*VARIANTS, "none"], help="learned motion engine"
    )
    parser.add_argument(
        "--raft-weights", type=Path, help="RAFT state dict (default: torchvision's cache, else random)"
    )
    parser.add_argument("--raft-iterations", type=int, default=12, help="RAFT flow updates (default 12)")
    parser.add_argument("--sizes", default="1920x1080,640x480", help="camera sizes WxH, comma-separated")
    parser.add_argument("--precisions", default="fp32,fp16", help="engine precisions, comma-separated")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per row")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first")
    parser.add_argument("--device", default="cuda", help="cuda or cuda:N")
    parser.add_argument("--work", type=Path, help="keep ONNX files, engines and the timing cache here")
    parser.add_argument("--json", type=Path, help="also write the timings here")
    parser.add_argument("--bag-frames", type=int, default=60, help="frames of the end-to-end drive (0: skip)")
    return parser


def synchronised(call: Callable[[], object]) -> Callable[[], object]:
    """``call`` followed by a device synchronisation, so wall-clock time covers the GPU work."""

    def run() -> object:
        result = call()
        torch.cuda.synchronize()
        return result

    return run


def network_entries(args: argparse.Namespace, work: Path, spec: LabelSpec) -> Entries:
    """ONNX files for the three roles (random networks unless --models), RAFT exported if asked for."""
    models = args.models
    if models is None:
        models = work / "random"
        write_random_networks(models, spec)
    engine_set = work / "source.yaml"
    engine_set.write_text(
        f"motion: dis\nsegmentation: {(models / 'segmentation.onnx').resolve()}\n"
        f"refiner: {(models / 'refiner.onnx').resolve()}\n"
    )
    raft = None
    if args.motion != "none":
        weights = args.raft_weights
        random_weights = weights is None and not default_weights_path(args.motion).is_file()
        raft = RaftExport(args.motion, weights, args.raft_iterations, random_weights=random_weights)
        print(f"motion: {args.motion}, {'random' if random_weights else 'trained'} weights")
    return prepare_onnx(engine_set, work, raft=raft)


def report_parity(entries: Entries, built: dict, precision: str, size: Size, device: str) -> None:
    """Each engine against ONNX Runtime on the CPU at ``size``: max abs error and agreement."""
    scale = read_metadata("segmentation", entries["segmentation"]).input_scale
    for role, engine in built.items():
        network = read_metadata(role, entries[role])
        feeds = sample_feeds(network, size, segmentation_scale=scale)
        model = TensorRTModel(engine.path, arch=role, device=device)
        report = check_parity(entries[role], model.run_numpy, feeds, DEFAULT_TOLERANCES[precision])
        verdict = "within tolerance" if report.passed else "OUT OF TOLERANCE: " + "; ".join(report.failures)
        print(f"parity {role} {precision} at {format_size(size)}: {verdict}")
        print("  " + report.summary().replace("\n", "\n  "))


def time_size(
    engines: dict, size: Size, spec: LabelSpec, device: torch.device, args
) -> list[tuple[str, list[float]]]:
    """Timings of every row at one camera size, in seconds per call."""
    height, width = size
    segmentation, refiner, motion = engines["segmentation"], engines["refiner"], engines.get("motion")
    image, previous, keyframe = scene(width, height)
    one_hot = spec.one_hot(keyframe)
    channels = spec.id_to_channel[keyframe].astype(np.uint8)  # ignore (-1) -> NO_CLASS
    segmented = segmentation.segment(image)
    trusted = np.random.default_rng(0).random((height, width)) < 0.9  # as eq. 6 leaves most pixels
    trust = torch.from_numpy(trusted.astype(np.float32))[None, None].to(device)
    pixels, previous_pixels = (torch.from_numpy(frame).to(device) for frame in (image, previous))
    seg_size = scaled_size(height, width, segmentation.input_scale)
    seg_input = image_batch(pixels, segmentation.normalization, size=seg_size)
    labels = torch.from_numpy(one_hot).permute(2, 0, 1)[None].to(device)  # (1, C, H, W)
    refiner_image = image_batch(pixels, refiner.normalization)
    gpu_probabilities, _ = segmentation.segment_tensor(seg_input)
    rows: list[tuple[str, Callable[[], object]]] = [
        ("segmentation network", synchronised(lambda: segmentation.segment_tensor(seg_input))),
        ("segmentation call", lambda: segmentation.segment(image)),
        (
            "refiner      network",
            synchronised(lambda: refiner.refine_tensor(labels, trust, gpu_probabilities, refiner_image)),
        ),
        ("refiner      call", lambda: refiner.refine(channels, trusted, segmented, image)),
    ]
    if motion is not None:
        pad_h, pad_w = (p - s for p, s in zip(padded_size(size, motion.pad_multiple), size, strict=True))

        def motion_batch(frame: torch.Tensor) -> torch.Tensor:
            return F.pad(image_batch(frame, motion.normalization), (0, pad_w, 0, pad_h), mode="replicate")

        flow_inputs = (motion_batch(pixels), motion_batch(previous_pixels))
        rows += [
            ("motion       network", synchronised(lambda: motion.flow_tensor(*flow_inputs))),
            ("motion       call", lambda: motion.flow(image, previous)),
        ]

    def chained() -> np.ndarray:
        frame, before = (torch.from_numpy(f).to(device) for f in (image, previous))
        if motion is not None:
            motion.flow_tensor(motion_batch(frame), motion_batch(before))
        probabilities, _ = segmentation.segment_tensor(
            image_batch(frame, segmentation.normalization, size=seg_size)
        )
        refined = refiner.refine_tensor(
            labels, trust, probabilities, image_batch(frame, refiner.normalization)
        )
        return refined.argmax(dim=1).to(torch.uint8).cpu().numpy()

    step_motion = motion if motion is not None else DisMotion(DEFAULT_PRESET)  # the default flow
    propagator = Propagator(
        Method.WARP_REFINE, spec, motion=step_motion, segmentation=segmentation, refiner=refiner
    )
    source = Frame(previous, 0)
    rows += [
        ("chained      motion + g + Omega, one upload/download", chained),
        (
            f"step         warp-refine ({'TensorRT' if motion else 'DIS'} motion)",
            lambda: propagator.step(one_hot, source, Frame(image, 1)),  # a fresh target: nothing cached
        ),
    ]
    return [(name, time_calls(call, args.repeats, args.warmup)) for name, call in rows]


def end_to_end(built: dict, size: Size, precision: str, work: Path, device: str, frames: int) -> list[dict]:
    """bag_label on a synthetic drive at ``size`` with this engine set, per method: rate, memory and
    the bottleneck stage."""
    from warp_refine_ros.cli import bag_label
    from warp_refine_ros.synth import DriveConfig, write_drive

    height, width = size
    drive = write_drive(
        work / f"drive-{width}x{height}", DriveConfig(width=width, height=height, frames=frames, seed=1000),
        keyframe_every=20, topic="/camera/image_raw",
    )  # fmt: skip
    engines = work / f"engines-{precision}.yaml"
    lines = [f"{role}: {engine.path}" for role, engine in built.items()]
    engines.write_text("\n".join(lines + ([] if "motion" in built else ["motion: dis"])) + "\n")
    rows = []
    for method in ("motion-only", "warp-inpaint", "warp-refine"):
        out = work / f"out-{precision}-{width}x{height}-{method}"
        torch.cuda.reset_peak_memory_stats()
        args = [str(drive.bag), "--image-topic", "/camera/image_raw", "--labels", str(drive.keyframes)]
        args += ["--out", str(out), "--engines", str(engines), "--method", method, "--device", device]
        if bag_label.main([*args, "--no-progress"]) != 0:
            raise EngineError(f"bag_label failed at {format_size(size)} {precision} {method}")
        timings = json.loads((out / "run.json").read_text())["timings"]
        stages = {k: v for k, v in timings["ms_per_written_frame"].items() if k != "setup"}
        bottleneck = max(stages, key=stages.get)
        rows.append(
            {
                "precision": precision,
                "size": format_size(size),
                "row": f"bag {method}",
                "frames_per_s": timings["labeling_frames_per_second"],
                "gpu_memory_mib": torch.cuda.max_memory_allocated() / 2**20,
                "bottleneck": f"{bottleneck} {stages[bottleneck]:.1f} ms/frame",
            }
        )
        print(
            f"bag {method:<13} {timings['labeling_frames_per_second']:>8.1f} frames/s  "
            f"GPU {rows[-1]['gpu_memory_mib']:>7.0f} MiB  slowest stage {rows[-1]['bottleneck']}"
        )
    return rows


def main(args: argparse.Namespace) -> None:
    device = cuda_device(args.device)
    sizes = sorted((parse_size(text) for text in args.sizes.split(",")), key=lambda s: s[0] * s[1])
    camera = CameraSizes(min=sizes[0], opt=sizes[-1], max=sizes[-1])
    spec = LabelSpec.default()
    environment = current_environment(device)
    print(
        f"{environment.describe()}; torch {torch.__version__}, onnxruntime {ort.__version__}; "
        f"{args.repeats} calls after {args.warmup} warm-up; models: {args.models or 'random weights'}"
    )
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        entries = network_entries(args, work, spec)
        for precision in args.precisions.split(","):
            options = BuildOptions(
                precision=precision,
                workspace_bytes=8 * GIB,
                timing_cache=work / "timing.cache",
                device=args.device,
            )
            built = build_engine_set(
                entries, work / precision, sizes=camera, options=options, parity_size=None
            )
            for role, engine in built.items():
                print(f"built {role} {precision} in {engine.build_seconds:.0f} s")
            report_parity(entries, built, precision, sizes[0], args.device)
            kinds = {
                "segmentation": TensorRTSegmentation,
                "refiner": TensorRTRefiner,
                "motion": TensorRTMotion,
            }
            engines = {role: kinds[role](engine.path, device=args.device) for role, engine in built.items()}
            for size in sizes:
                print(f"\n{precision} at {format_size(size)}")
                print(f"{'row':<56} {'median ms':>10} {'p90 ms':>8} {'frames/s':>9}")
                for name, times in time_size(engines, size, spec, device, args):
                    times = sorted(times)
                    median = statistics.median(times)
                    p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
                    print(f"{name:<56} {median * 1e3:>10.2f} {p90 * 1e3:>8.2f} {1 / median:>9.1f}")
                    results.append(
                        {
                            "precision": precision,
                            "size": format_size(size),
                            "row": " ".join(name.split()),
                            "median_ms": median * 1e3,
                            "p90_ms": p90 * 1e3,
                            "frames_per_s": 1 / median,
                        }
                    )
                if args.bag_frames:
                    results += end_to_end(built, size, precision, work, args.device, args.bag_frames)
            del engines
    if args.json:
        args.json.write_text(
            json.dumps({"environment": environment.describe(), "results": results}, indent=2)
        )


if __name__ == "__main__":
    try:
        main(get_args_parser().parse_args())
    except EngineError as err:
        raise SystemExit(f"error: {err}") from None
