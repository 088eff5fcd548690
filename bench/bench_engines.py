"""Time every engine on the CPU at camera resolution: median ms and frames/s per call.

    python bench/bench_engines.py [--models DIR] [--size 640x480] [--repeats 30]

``--models`` is a folder with segmentation.pt/.onnx and refiner.pt/.onnx; without it, networks with
random weights are written to a temporary folder (timing does not depend on the weights). Each row
is one protocol call as the propagation makes it, pre- and post-processing included; the last rows
are whole propagation steps (warp-inpaint and warp-refine), each on a fresh frame so nothing is cached.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import torch

from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.engines.dis import DEFAULT_PRESET, PRESETS, DisMotion
from warp_refine_ros.engines.onnx_backend import OnnxRefiner, OnnxSegmentation
from warp_refine_ros.engines.preprocess import image_tensor, scaled_size
from warp_refine_ros.engines.torch_backend import TorchRefiner, TorchSegmentation
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.networks.random_init import write_random_networks
from warp_refine_ros.propagation import Frame, Method, Propagator


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="folder with segmentation.pt/.onnx and refiner.pt/.onnx")
    parser.add_argument("--size", default="640x480", help="image WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per engine")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first")
    return parser


def time_calls(call: Callable[[], object], repeats: int, warmup: int) -> list[float]:
    """Wall-clock seconds of each of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def scene(width: int, height: int, shift: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two textured frames of a camera panning ``shift`` px, and blocky keyframe labels (ids 0..18)."""
    rng = np.random.default_rng(0)
    world = cv2.GaussianBlur(rng.integers(0, 256, (height, width + shift, 3), dtype=np.uint8), (0, 0), 2.0)
    blocks = rng.integers(0, 19, (height // 32, width // 32), dtype=np.uint8)
    labels = cv2.resize(blocks, (width, height), interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(world[:, shift:]), np.ascontiguousarray(world[:, :width]), labels


def main(args: argparse.Namespace) -> None:
    width, height = (int(v) for v in args.size.lower().split("x"))
    spec = LabelSpec.default()
    with tempfile.TemporaryDirectory() as scratch:
        models = args.models or Path(scratch)
        if args.models is None:
            write_random_networks(models, spec)
        seg_onnx = OnnxSegmentation(models / "segmentation.onnx")
        seg_torch = TorchSegmentation(models / "segmentation.pt")
        ref_onnx = OnnxRefiner(models / "refiner.onnx")
        ref_torch = TorchRefiner(models / "refiner.pt")
    image, previous, keyframe = scene(width, height)
    segmentation = seg_onnx.segment(image)
    one_hot = spec.one_hot(keyframe)
    channels = spec.id_to_channel[keyframe].astype(np.uint8)  # ignore (-1) -> NO_CLASS
    batch = image_tensor(image, seg_onnx.normalization, size=scaled_size(height, width, seg_onnx.input_scale))
    coarse_h, coarse_w, classes = segmentation.coarse.shape
    untrusted = np.flatnonzero(np.random.default_rng(1).random(height * width) < 0.08)  # a typical M = 0
    trusted = np.ones(height * width, dtype=bool)
    trusted[untrusted] = False
    trusted = trusted.reshape(height, width)
    presets = {name: DisMotion(name) for name in PRESETS}
    dis = presets[DEFAULT_PRESET]

    def step(method: Method) -> Callable[[], object]:
        propagator = Propagator(method, spec, motion=dis, segmentation=seg_onnx, refiner=ref_onnx)
        source = Frame(previous, 0)
        return lambda: propagator.step(one_hot, source, Frame(image, 1))  # a fresh target: no cached cues

    rows: list[tuple[str, Callable[[], object]]] = [
        (
            f"segmentation  onnxruntime  {seg_onnx.input_scale:g}x input, end to end",
            lambda: seg_onnx.segment(image),
        ),
        (
            "  preprocess (resize, normalise)",
            lambda: image_tensor(image, seg_onnx.normalization, size=batch.shape[2:]),
        ),
        ("  network", lambda: seg_onnx._infer(batch)),
        (
            f"  upsample {classes}x{coarse_h}x{coarse_w} at 8% of the pixels (inpaint)",
            lambda: segmentation.at(untrusted),
        ),
        (
            "  upsample to full size (semantic-only)",
            lambda: Segmentation(segmentation.coarse, (height, width)).probabilities,
        ),
        ("segmentation  torch        end to end", lambda: seg_torch.segment(image)),
        (
            "refiner       onnxruntime  end to end",
            lambda: ref_onnx.refine(channels, trusted, segmentation, image),
        ),
        (
            "refiner       torch        end to end",
            lambda: ref_torch.refine(channels, trusted, segmentation, image),
        ),
        *(
            (f"motion        dis:{name}", partial(motion.flow, image, previous))
            for name, motion in presets.items()
        ),
        (f"step          warp-inpaint (dis:{DEFAULT_PRESET} + onnx g)", step(Method.WARP_INPAINT)),
        (
            f"step          warp-refine  (dis:{DEFAULT_PRESET} + onnx g + onnx Omega)",
            step(Method.WARP_REFINE),
        ),
    ]
    print(
        f"{width}x{height} RGB, {args.repeats} calls after {args.warmup} warm-up; {os.cpu_count()} CPUs "
        f"({platform.processor() or platform.machine()}), load average {os.getloadavg()[0]:.2f}; "
        f"onnxruntime {ort.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"opencv {cv2.__version__}; models: {args.models or 'random weights'}"
    )
    print(f"{'engine':<62} {'median ms':>10} {'p90 ms':>8} {'frames/s':>9}")
    for name, call in rows:
        times = sorted(time_calls(call, args.repeats, args.warmup))
        median = statistics.median(times)
        p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
        print(f"{name:<62} {median * 1e3:>10.1f} {p90 * 1e3:>8.1f} {1 / median:>9.1f}")


if __name__ == "__main__":
    main(get_args_parser().parse_args())
