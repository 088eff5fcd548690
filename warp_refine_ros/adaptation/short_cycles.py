"""Omega's check at the distances bag_label's frames travel: each held-out keyframe's own short cycles.

Cross-validation reaches a held-out keyframe across the keyframe spacing (about twice the radius K).
Omega's gain there is long-range repair of drift, which frames within +-K barely need, while what it
costs near a keyframe (thin and rare classes smoothed away, which mIoU counts like any other) stays
unseen: on night-jpeg 6300 the fine-tuned Omega estimated 3.5 points over warp-inpaint across the
spacing and lost 0.9 over |k| = 1..10 against the truth. So Omega is also scored where labels travel
2..K frames: the keyframe's label carried l = 1..K/2 frames away and back by warp-inpaint (section 3.4's
cycle), the last step once as warp-inpaint writes it and once refined by Omega, against the keyframe's
own label, each keyframe through the models that never saw it. The two share every step but the last,
so the comparison says what Omega adds to the labels it is given at these distances; it does not rank
motions (a trip out and back undoes motion-only's drift, README "How well it ranks").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from warp_refine_ros.adaptation.crossval import Candidate, Models, propagator_for, rounded_percent
from warp_refine_ros.adaptation.streams import HeldOutKeyframe
from warp_refine_ros.engines.base import MotionEngine
from warp_refine_ros.evaluation.confusion import ConfusionMatrix
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.progress import progress_bar
from warp_refine_ros.propagation import Method
from warp_refine_ros.propagation.cycle import cycle_arrivals


@dataclass(frozen=True)
class CycleCheck:
    """mIoU (%) over the held-out keyframes' short cycles of warp-inpaint and of warp-refine, on the
    same cycles; None where no cycle could be made."""

    warp_inpaint: float | None
    warp_refine: float | None
    cycles: int
    longest: int  # l: frames away from the keyframe at most

    @property
    def gain(self) -> float | None:
        """What Omega adds at these distances, in mIoU points."""
        if self.warp_inpaint is None or self.warp_refine is None:
            return None
        return self.warp_refine - self.warp_inpaint

    def to_dict(self) -> dict:
        return {
            "warp_inpaint_miou": self.warp_inpaint,
            "warp_refine_miou": self.warp_refine,
            "cycles": self.cycles,
            "longest": self.longest,
        }

    @classmethod
    def from_dict(cls, data: dict) -> CycleCheck:
        """The check as :meth:`to_dict` stored it (a resumed run reads it back)."""
        return cls(data["warp_inpaint_miou"], data["warp_refine_miou"], data["cycles"], data["longest"])


def short_cycles(
    windows: Sequence[HeldOutKeyframe],
    candidate: Candidate,
    spec: LabelSpec,
    motion: MotionEngine,
    models: Callable[[HeldOutKeyframe], Models],
    *,
    radius: int,
    progress: bool = True,
) -> CycleCheck:
    """Warp-inpaint and warp-refine of ``candidate``'s motion and tau on every held-out keyframe's
    cycles of l = 1..radius // 2 both ways, within the frames between its neighbouring keyframes, each
    keyframe with ``models(window)``."""
    longest = max(radius // 2, 1)
    scores = {method: ConfusionMatrix.for_spec(spec) for method in (Method.WARP_INPAINT, Method.WARP_REFINE)}
    refine = Candidate(Method.WARP_REFINE, candidate.tau, candidate.motion)
    count = 0
    for window in progress_bar(windows, desc="Omega on short cycles", unit="keyframe", enabled=progress):
        stream, truth = window.stream, window.stream.labels.load(window.keyframe)
        propagator = propagator_for(refine, spec, motion, models(window))
        first = max(window.position - longest, window.first)
        around = stream.read(first, min(window.position + longest, window.last))
        at = window.position - first  # the keyframe's place in them
        for away in (around[at:], around[at::-1]):  # forward, backward
            if len(away) < 2:
                continue
            keyframe = away[0]
            for arrival in cycle_arrivals(propagator, away, truth):
                inpainted = propagator.inpaint(arrival, keyframe)
                scores[Method.WARP_INPAINT].update(truth, propagator.labels(inpainted)[0])
                refined = propagator.refine(arrival, keyframe)
                scores[Method.WARP_REFINE].update(truth, propagator.labels(refined)[0])
                count += 1
    found = {method: rounded_percent(matrix.compute().miou) for method, matrix in scores.items()}
    return CycleCheck(found[Method.WARP_INPAINT], found[Method.WARP_REFINE], count, longest)
