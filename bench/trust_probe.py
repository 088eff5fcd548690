"""Probe: does forward-backward flow consistency beside eq. 6's colour test make better labels?

Labels drives of bench/drive_families.py with warp-inpaint (the shipped g, DIS medium, radius 10) twice
per tau: with the trust mask of eq. 6 alone, and with it AND the forward-backward check (a pixel's
flow w and the reverse flow w' at the point it lands on agree: |w + w'|^2 < A (|w|^2 + |w'|^2) + B).
The check runs in this script only (it replaces Propagator.arrive); the product does not ship it,
because on the drives below it never beat the colour test at its best tau. Score: mean mIoU (%) over
|k| = 1..10 against every frame's truth.

    python bench/trust_probe.py build/families/odd-482x242/6201/drive build/families/tune-dashcam/5000/drive
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.engines.loading import load_motion, load_segmentation
from warp_refine_ros.evaluation.confusion import ConfusionMatrix
from warp_refine_ros.labels import read_label_png
from warp_refine_ros.propagation import Frame, Method, Propagator, StreamLabeler
from warp_refine_ros.propagation.propagator import Arrival, Track
from warp_refine_ros.resources import share_path

TOPIC = "/camera/image_raw"
RADIUS = 10


class CheckedPropagator(Propagator):
    """Psi whose trust mask also asks the two flows to agree (Sundaram et al.'s check)."""

    def __init__(self, *args, a: float, b: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.a, self.b = a, b

    def arrive(self, track: Track, source: Frame, target: Frame) -> Arrival:
        """Propagator.arrive (numpy backend) with the check ANDed into the trust mask."""
        flow, back = self.flow(target, source), self.flow(source, target)
        sampling = self.ops.sampling(flow)
        trusted = self.ops.trust(self._image(target), self._image(source), sampling, self.tau)
        trusted &= self._agree(flow, back)
        support = None if track.support is None else self.ops.support(track.support, sampling, trusted)
        return Arrival(self.ops.warp(track.probabilities, sampling), trusted, support)

    def _agree(self, flow: np.ndarray, back: np.ndarray) -> np.ndarray:
        h, w = flow.shape[:2]
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        landed = cv2.remap(back, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, cv2.BORDER_REPLICATE)
        error = ((flow + landed) ** 2).sum(-1)
        return error < self.a * ((flow**2).sum(-1) + (landed**2).sum(-1)) + self.b


def mean_miou(drive: Path, propagator: Propagator) -> float:
    """Mean over |k| = 1..RADIUS of the mIoU of the drive's frames labeled from its keyframes."""
    keyframes = {int(p.stem): read_label_png(p) for p in (drive / "keyframes").rglob("*.png")}
    labeler, done = StreamLabeler(propagator, RADIUS), []
    with BagReader(drive / "drive") as reader:
        for message in reader.images([TOPIC]):
            done += labeler.push(Frame(message.decode(), message.stamp_ns), keyframes.get(message.stamp_ns))
    done += labeler.finish()
    by_offset: dict[int, ConfusionMatrix] = {}
    for item in done:
        if (k := abs(item.labeling.offset)) > 0:
            truth = read_label_png(drive / "truth" / f"{item.frame.stamp_ns}.png")
            matrix = by_offset.setdefault(k, ConfusionMatrix.for_spec(propagator.spec))
            matrix.update(truth, item.labeling.labels)
    return 100 * float(np.mean([matrix.compute().miou for matrix in by_offset.values()]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("drives", type=Path, nargs="+", help="drive folders (drive/, keyframes/, truth/)")
    parser.add_argument("--taus", type=float, nargs="+", default=[40.0, 150.0])
    parser.add_argument("--checks", default="0.01,0.5 0.1,8", help="A,B pairs of the check, space-separated")
    args = parser.parse_args()
    segmentation = load_segmentation(str(share_path("models/seg.onnx")))
    motion = load_motion("dis:medium")
    checks = [tuple(map(float, pair.split(","))) for pair in args.checks.split()]
    for drive in args.drives:
        for tau in args.taus:
            engines = dict(motion=motion, segmentation=segmentation, tau=tau)
            started = time.perf_counter()
            plain = mean_miou(drive, Propagator(Method.WARP_INPAINT, segmentation.spec, **engines))
            line = f"{drive.parent.parent.name}/{drive.parent.name} tau {tau:g}: colour {plain:.2f}"
            line += f" ({time.perf_counter() - started:.0f} s)"
            for a, b in checks:
                checked = CheckedPropagator(Method.WARP_INPAINT, segmentation.spec, a=a, b=b, **engines)
                line += f", colour + check A={a:g} B={b:g} {mean_miou(drive, checked):.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
