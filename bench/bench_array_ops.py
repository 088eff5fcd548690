"""Time the propagation's array operations on each backend: median ms per operation and per step.

    python bench/bench_array_ops.py [--sizes 640x480,1920x1080] [--repeats 5] [--threads N]

Backends: NumpyOps (OpenCV), TorchOps on the CPU and, where CUDA is available, TorchOps on the GPU
(synchronised before each clock read). Each operation is timed on inputs already held by the backend;
``step`` is one whole warp-inpaint step as the propagation runs it, from the motion engine's numpy
flow and the frames' numpy images in to uint8 labels, confidence and support out. The labels are
19 classes in blocks, the flow smooth with sub-pixel and out-of-image motion, g's grid 1/8 of the image.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
import torch

from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.ops import ArrayOps, NumpyOps, TorchOps

TAU = 40.0


def scene(spec: LabelSpec, height: int, width: int) -> dict:
    """numpy inputs of one step: labels, flow, two images, g's output and a refiner's output."""
    rng = np.random.default_rng(0)
    blocks = spec.ids[rng.integers(0, spec.num_classes, (12, 16))]
    labels = cv2.resize(blocks, (width, height), interpolation=cv2.INTER_NEAREST)
    flow = cv2.resize(rng.normal(0, 6, (6, 8, 2)).astype(np.float32), (width, height)) + np.float32(2.5)
    texture = cv2.resize(rng.integers(0, 256, (height // 4, width // 4, 3), dtype=np.uint8), (width, height))
    coarse = rng.random((height // 8, width // 8, spec.num_classes)).astype(np.float32)
    refined = rng.random((height, width, spec.num_classes)).astype(np.float32)
    refined /= refined.sum(axis=-1, keepdims=True)
    return {
        "labels": labels,
        "flow": flow,
        "image": texture,
        "source": np.roll(texture, 2, axis=1),
        "segmentation": Segmentation(coarse / coarse.sum(axis=-1, keepdims=True), (height, width)),
        "refined": refined,
    }


def operations(ops: ArrayOps, spec: LabelSpec, inputs: dict) -> dict[str, Callable[[], object]]:
    """Each operation of ``ops`` as a call on inputs it already holds, and one whole step."""
    segmentation = inputs["segmentation"]
    state = ops.one_hot(spec, inputs["labels"])
    sampling = ops.sampling(inputs["flow"])
    image, source = ops.image(inputs["image"]), ops.image(inputs["source"])
    trusted = ops.trust(image, source, sampling, TAU)
    support = ops.full_support(inputs["labels"].shape)
    warped = ops.warp(state, sampling)

    def step() -> None:
        moved = ops.sampling(inputs["flow"])
        mask = ops.trust(ops.image(inputs["image"]), ops.image(inputs["source"]), moved, TAU)
        probabilities = ops.inpaint(ops.warp(state, moved), mask, segmentation)
        ops.channels_and_confidence(probabilities)
        ops.to_uint8(ops.support(support, moved, mask))

    return {
        "image in": lambda: ops.image(inputs["image"]),
        "sampling (flow in)": lambda: ops.sampling(inputs["flow"]),
        "one_hot": lambda: ops.one_hot(spec, inputs["labels"]),
        "warp (19 classes)": lambda: ops.warp(state, sampling),
        "trust": lambda: ops.trust(image, source, sampling, TAU),
        "support": lambda: ops.support(support, sampling, trusted),
        "inpaint": lambda: ops.inpaint(warped, trusted, segmentation),
        "semantic": lambda: ops.semantic(segmentation, 0.9),
        "trust out (to Omega)": lambda: ops.mask(trusted),
        "refined in (Omega's)": lambda: ops.from_numpy(inputs["refined"]),
        "labels out": lambda: ops.channels_and_confidence(state),
        "step": step,
    }


def median_ms(call: Callable[[], object], synchronize: Callable[[], None], repeats: int) -> float:
    """Median wall time of ``call`` in ms after one warm-up call, synchronised before each clock read."""
    call()
    synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def backends() -> dict[str, tuple[ArrayOps, Callable[[], None]]]:
    """Name -> (ops, synchronise) for every backend this machine has."""
    found = {"numpy": (NumpyOps(), lambda: None), "torch:cpu": (TorchOps("cpu"), lambda: None)}
    if torch.cuda.is_available():
        found["torch:cuda"] = (TorchOps("cuda"), torch.cuda.synchronize)
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="640x480,1920x1080", help="WxH,WxH,...")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = LabelSpec.default()
    found = backends()
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} CPU threads), OpenCV {cv2.__version__} "
        f"({cv2.getNumThreads()} threads); median ms of {args.repeats}"
    )
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.split("x"))
        inputs = scene(spec, height, width)
        table = {name: operations(ops, spec, inputs) for name, (ops, _) in found.items()}
        print(f"\n{width}x{height}, {spec.num_classes} classes")
        print(f"{'operation':<20}" + "".join(f"{name:>12}" for name in found))
        for operation in table["numpy"]:
            cells = (
                median_ms(table[name][operation], sync, args.repeats) for name, (_, sync) in found.items()
            )
            print(f"{operation:<20}" + "".join(f"{ms:>12.2f}" for ms in cells))


if __name__ == "__main__":
    main()
