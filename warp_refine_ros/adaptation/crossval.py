"""Keyframe cross-validation: an estimate of label quality from the keyframes alone.

Each keyframe is held out in turn and labeled from its neighbouring keyframes exactly as bag_label
labels a frame between two keyframes (:mod:`warp_refine_ros.propagation.holdout`), then scored
against its own label. The estimate scores what bag_label would write there: the two recursions fused
where both neighbours reach the keyframe, the one side where only one does (the ends of a stream).
Labels there travel the keyframe spacing (S frames, typically twice the radius K), so absolute values
are lower than bag_label's mean over |k| = 1..K; what the estimate is for is ranking methods and
settings on the user's own camera without any per-frame truth. Each side alone is scored too (the
one-sided figure): it travels as far, but misses what fusing the two directions repairs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from warp_refine_ros.adaptation.cost import EngineClock
from warp_refine_ros.adaptation.flow_cache import FlowCache
from warp_refine_ros.adaptation.streams import (
    HeldOutKeyframe,
    LabeledStream,
    held_out_keyframes,
    median_distance,
)
from warp_refine_ros.engines.base import MotionEngine, RefinerEngine, SegmentationEngine
from warp_refine_ros.engines.loading import EngineSet
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.evaluation.confusion import ConfusionMatrix, Scores
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.progress import progress_bar
from warp_refine_ros.propagation import Frame, Method, Propagator
from warp_refine_ros.propagation.holdout import label_held_out

if TYPE_CHECKING:  # bag_label's request and plans, for the signature of estimate_run only
    from warp_refine_ros.bags.planning import BagPlan
    from warp_refine_ros.bags.request import LabelJob


@dataclass(frozen=True)
class Candidate:
    """One labeler setting to estimate: the propagation step, the trust threshold and the motion."""

    method: Method
    tau: float
    motion: str

    def __str__(self) -> str:
        return f"{self.method} tau {self.tau:g} {self.motion}"

    @classmethod
    def of(cls, record: dict) -> Candidate:
        """The candidate a record of report.json (Estimate.to_dict) was made for."""
        return cls(Method(record["method"]), record["tau"], record["motion"])


@dataclass(frozen=True)
class Models:
    """The networks a held-out window is labeled with (trained without its keyframe when cross-fitted)."""

    segmentation: SegmentationEngine | None = None
    refiner: RefinerEngine | None = None


@dataclass
class Estimate:
    """A candidate's cross-validated scores."""

    candidate: Candidate
    written: ConfusionMatrix  # what bag_label writes: fused where both sides reach, else the one side
    one_sided: ConfusionMatrix  # each side alone
    held_out: int = 0
    distance: float | None = None  # median frames travelled
    ms_per_frame: float | None = (
        None  # what labeling a frame with this setting costs here (adaptation/cost.py)
    )
    scores: dict[str, Scores] = field(default_factory=dict)

    @property
    def miou(self) -> float | None:
        """The estimate: mIoU of held-out keyframes labeled as bag_label labels a frame between keyframes."""
        return self.scores["written"].miou

    def finish(self) -> Estimate:
        self.scores = {"written": self.written.compute(), "one_sided": self.one_sided.compute()}
        return self

    def to_dict(self) -> dict:
        """For report.json and run.json."""
        written, one_sided = self.scores["written"], self.scores["one_sided"]
        return {
            "method": str(self.candidate.method),
            "tau": self.candidate.tau,
            "motion": self.candidate.motion,
            "estimated_miou": rounded_percent(written.miou),
            "estimated_one_sided_miou": rounded_percent(one_sided.miou),
            "estimated_pixel_accuracy": rounded_percent(written.pixel_accuracy),
            "held_out_keyframes": self.held_out,
            "median_frames_travelled": self.distance,
            "ms_per_frame": self.ms_per_frame,
        }


def cross_validate(
    windows: Sequence[HeldOutKeyframe],
    candidates: Sequence[Candidate],
    spec: LabelSpec,
    motions: dict[str, MotionEngine],
    models: Callable[[HeldOutKeyframe], Models],
    *,
    progress: bool = True,
    description: str = "keyframe cross-validation",
) -> list[Estimate]:
    """Estimate every candidate on the held-out windows; engines run once per window and motion."""
    candidates = list(dict.fromkeys(candidates))  # each estimated once
    estimates = {
        c: Estimate(c, ConfusionMatrix.for_spec(spec), ConfusionMatrix.for_spec(spec)) for c in candidates
    }
    by_motion: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_motion.setdefault(candidate.motion, []).append(candidate)
    clock = EngineClock()
    timed_motions = {name: clock.timed(motions[name], "flow", f"motion {name}") for name in by_motion}
    bar = progress_bar(windows, desc=description, unit="keyframe", enabled=progress)
    for window in bar:
        stream, position = window.stream, window.position - window.first
        truth = stream.labels.load(window.keyframe)  # the held-out keyframe's own (human) label
        before = (
            stream.labels.load(stream.keyframes[window.first]) if window.first < window.position else None
        )
        after = stream.labels.load(stream.keyframes[window.last]) if window.last > window.position else None
        images = stream.read(window.first, window.last)
        found = models(window)
        chosen = Models(
            clock.timed(found.segmentation, "segment", "segmentation"),
            clock.timed(found.refiner, "refine", "refiner"),
        )
        steps = (position if before is not None else 0) + (
            len(images) - 1 - position if after is not None else 0
        )
        shared: list[Frame] | None = None
        for motion_name, group in by_motion.items():
            frames = _fresh(images, shared)  # flows belong to one motion engine; g's output is shared
            for candidate in group:
                propagator = propagator_for(candidate, spec, timed_motions[motion_name], chosen)
                started, engines = time.perf_counter(), clock.engine_seconds()
                held = label_held_out(propagator, frames, position, before, after)
                elapsed = time.perf_counter() - started - (clock.engine_seconds() - engines)
                clock.record_steps(str(candidate), elapsed, steps)
                estimate = estimates[candidate]
                estimate.held_out += 1
                for side in (held.forward, held.backward):
                    if side is not None:
                        estimate.one_sided.update(truth, side.labels)
                estimate.written.update(truth, held.written.labels)
            shared = frames
    for name in by_motion:  # a cached flow costs what computing it took, not what reading it did
        if isinstance(motions[name], FlowCache):
            clock.calls[f"motion {name}"] = motions[name].compute_seconds()
    distance = median_distance(windows)
    for candidate, estimate in estimates.items():
        estimate.distance = distance
        estimate.ms_per_frame = clock.ms_per_frame(candidate.method, candidate.motion, str(candidate))
    return [estimate.finish() for estimate in estimates.values()]


def estimate_run(plans: list[BagPlan], spec: LabelSpec, engines: EngineSet, job: LabelJob) -> dict:
    """bag_label --validate: the estimate of a run's own settings and engines over its bags' keyframes."""
    streams = [
        LabeledStream(p.bag, s.index.topic, s.index, s.match.by_index, s.keyframes)
        for p in plans
        for s in p.streams
    ]
    windows = held_out_keyframes(streams, job.config.radius)
    if not windows:
        raise DatasetError(
            "--validate needs at least two keyframes in one stream: one is held out, one reaches it"
        )
    motion = job.engines.identity(["motion"])["motion"] or "none"
    candidate = Candidate(job.config.method, job.config.tau, motion)
    models = Models(engines.segmentation, engines.refiner)
    (found,) = cross_validate(
        windows, [candidate], spec, {motion: engines.motion}, lambda _: models, progress=job.progress
    )
    return found.to_dict()


def best(estimates: Iterable[Estimate]) -> Estimate:
    """The candidate with the highest estimate (ties: the earlier, i.e. simpler, one)."""
    return max(estimates, key=lambda e: -1.0 if e.miou is None else e.miou)


def _fresh(images: Sequence[Frame], shared: Sequence[Frame] | None) -> list[Frame]:
    """New frames (no flows cached) carrying the segmentations already computed for these images."""
    return [
        Frame(frame.image, frame.stamp_ns, segmentation=None if shared is None else shared[i].segmentation)
        for i, frame in enumerate(images)
    ]


def propagator_for(candidate: Candidate, spec: LabelSpec, motion: MotionEngine, models: Models) -> Propagator:
    """Psi of a candidate with the given motion and models (only the engines its method runs)."""
    method = candidate.method
    engines = EngineSet(
        motion=motion if method.needs_motion else None,
        segmentation=models.segmentation if method.needs_segmentation else None,
        refiner=models.refiner if method.needs_refiner else None,
    )
    return Propagator.from_engines(method, spec, engines, tau=candidate.tau)


def rounded_percent(value: float | None) -> float | None:
    """A score in [0, 1] as percent with two decimals, as report.json keeps them."""
    return None if value is None else round(100 * value, 2)
