"""One propagation step Psi between two frames, with each frame's cues computed once.

A :class:`Frame` caches its segmentation and its flows to neighbours, so a frame reached by a
forward recursion, a backward recursion and a cycle never runs an engine twice on the same input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from warp_refine_ros.engines.base import (
    MotionEngine,
    RefinerEngine,
    Segmentation,
    SegmentationEngine,
)
from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.labelings import Labeling
from warp_refine_ros.propagation.methods import Method
from warp_refine_ros.propagation.ops import ArrayOps, NumpyOps
from warp_refine_ros.propagation.trust import DEFAULT_TAU

EngineT = TypeVar("EngineT")


class Engines(Protocol):
    """An engine set: what :meth:`Propagator.from_engines` takes (engines.loading.EngineSet is one)."""

    motion: MotionEngine | None
    segmentation: SegmentationEngine | None
    refiner: RefinerEngine | None


SEMANTIC_CONFIDENCE = 0.9  # semantic-only keeps pixels above this probability (Tao et al.)


@dataclass(frozen=True)
class Track:
    """What a recursion carries from frame to frame: the labels, and how much of them motion vouches for.

    ``support`` is the share of each pixel's label that reached it from the keyframe through trusted
    motion only (1 at the keyframe, warped along with the labels, 0 wherever the trust mask is 0). It
    says where a label came from, which the probabilities stop saying once g or the refiner has
    touched them; fusing two keyframes' labels uses it. None for semantic-only.
    """

    probabilities: Any  # on the array backend: numpy (H, W, C) float32, torch (C, H, W)
    support: Any  # (H, W) float32 in [0, 1] on the backend, or None


@dataclass(frozen=True)
class Arrival:
    """A recursion arriving at a frame before eq. 5: the warped labels Lm, the trust mask M and the support
    carried along (None where the track has none), on the array backend."""

    warped: Any
    trusted: Any
    support: Any


@dataclass(eq=False)
class Frame:
    """An RGB image (H, W, 3) uint8 with its stamp and the engine outputs computed for it so far."""

    image: np.ndarray
    stamp_ns: int
    segmentation: Segmentation | None = None
    flows: dict[int, np.ndarray] = field(default_factory=dict)  # reference stamp -> backward flow
    arrays: dict[str, Any] = field(default_factory=dict)  # array backend name -> its copy of the image


class Propagator:
    """Psi for one method: turns the probabilities of a source frame into those of a target frame."""

    def __init__(
        self,
        method: Method | str,
        spec: LabelSpec,
        *,
        motion: MotionEngine | None = None,
        segmentation: SegmentationEngine | None = None,
        refiner: RefinerEngine | None = None,
        tau: float = DEFAULT_TAU,
        ops: ArrayOps | None = None,
    ) -> None:
        self.method = Method.parse(method)
        missing = [
            name
            for name, needed, engine in (
                ("motion", self.method.needs_motion, motion),
                ("segmentation", self.method.needs_segmentation, segmentation),
                ("refiner", self.method.needs_refiner, refiner),
            )
            if needed and engine is None
        ]
        if missing:
            raise EngineError(
                f"method {self.method} needs a {' and a '.join(missing)} engine; give it (e.g. --engines "
                "YAML, --seg, --refiner) or choose a method that does without"
            )
        if segmentation is not None and (differences := segmentation.spec.class_differences(spec)):
            raise EngineError(
                f"engine {segmentation.name} was trained for other classes than the class spec "
                f"(engine against spec: {'; '.join(differences[:6])}"
                f"{f'; and {len(differences) - 6} more' if len(differences) > 6 else ''}); "
                "use the spec the engine was trained with (--classes), or train engines for yours"
            )
        if not (math.isfinite(tau) and tau > 0):
            raise ValueError(f"tau must be a positive RGB distance, got {tau}")
        self.spec = spec
        self.motion = motion
        self.segmentation = segmentation
        self.refiner = refiner
        self.tau = float(tau)
        self.ops: ArrayOps = ops if ops is not None else NumpyOps()  # where probabilities live

    @classmethod
    def from_engines(
        cls,
        method: Method | str,
        spec: LabelSpec,
        engines: Engines,
        *,
        tau: float = DEFAULT_TAU,
        ops: ArrayOps | None = None,
    ) -> Propagator:
        """The one way to assemble Psi: a method over an engine set (any of whose engines may be None),
        on an array backend (numpy unless given)."""
        return cls(
            method,
            spec,
            motion=engines.motion,
            segmentation=engines.segmentation,
            refiner=engines.refiner,
            tau=tau,
            ops=ops,
        )

    # --- cues, each computed once per frame or ordered pair -----------------------------------

    def segment(self, frame: Frame) -> Segmentation:
        """g(I) for the frame, cached on it."""
        if frame.segmentation is None:
            frame.segmentation = _required(self.segmentation, "segmentation").segment(frame.image)
        return frame.segmentation

    def flow(self, target: Frame, source: Frame) -> np.ndarray:
        """phi from target back to source (where each target pixel lies in source), cached on target."""
        flow = target.flows.get(source.stamp_ns)
        if flow is None:
            motion = _required(self.motion, "motion")
            flow = target.flows[source.stamp_ns] = motion.flow(target.image, source.image)
        return flow

    # --- Psi -------------------------------------------------------------------------------------

    def keyframe(self, labels: np.ndarray) -> Any:
        """L_t as one-hot probabilities (eq. 2), on the backend."""
        return self.ops.one_hot(self.spec, labels)

    def start(self, labels: np.ndarray) -> Track:
        """The track at a keyframe: its one-hot label, fully supported."""
        return Track(self.keyframe(labels), self.ops.full_support(labels.shape))

    def advance(self, track: Track, source: Frame, target: Frame) -> Track:
        """One recursion step Psi from source to target for this propagator's method (eq. 1)."""
        if self.method is Method.SEMANTIC_ONLY:
            return Track(self.semantic(target), None)
        if self.method is Method.MOTION_ONLY:
            sampling = self.ops.sampling(self.flow(target, source))
            support = None if track.support is None else self.ops.support(track.support, sampling, None)
            return Track(self.ops.warp(track.probabilities, sampling), support)
        arrival = self.arrive(track, source, target)
        if self.method is Method.WARP_INPAINT:
            return Track(self.inpaint(arrival, target), arrival.support)
        return Track(self.refine(arrival, target), arrival.support)

    def step(self, state: Any, source: Frame, target: Frame) -> Any:
        """L*_target = Psi(L*_source): :meth:`advance` on probabilities alone."""
        return self.advance(Track(state, None), source, target).probabilities

    def warp_inpaint(self, state: Any, source: Frame, target: Frame) -> Any:
        """Psi^W (eq. 3-6): warp, trust the warp where the images agree, inpaint the rest with g."""
        return self.inpaint(self.arrive(Track(state, None), source, target), target)

    def arrive(self, track: Track, source: Frame, target: Frame) -> Arrival:
        """What motion brings to the target: Lm (eq. 3), the trust mask M (eq. 6) and the support."""
        ops = self.ops
        sampling = ops.sampling(self.flow(target, source))
        warped = ops.warp(track.probabilities, sampling)
        trusted = ops.trust(self._image(target), self._image(source), sampling, self.tau)
        support = None if track.support is None else ops.support(track.support, sampling, trusted)
        return Arrival(warped, trusted, support)

    def inpaint(self, arrival: Arrival, target: Frame) -> Any:
        """Eq. 5: the warped labels where the warp is trusted, g's probabilities of the target elsewhere."""
        return self.ops.inpaint(arrival.warped, arrival.trusted, self.segment(target))

    def refine(self, arrival: Arrival, target: Frame) -> Any:
        """Psi^R (eq. 8): Omega on the warped labels (one-hot of their arg-max), M, g's probabilities and
        the image, in place of eq. 5's switch (networks/refiner.py)."""
        refiner = _required(self.refiner, "refiner")
        refined = refiner.refine(
            self.ops.channels(arrival.warped),
            self.ops.mask(arrival.trusted),
            self.segment(target),
            target.image,
        )
        return self.ops.from_numpy(refined)

    def semantic(self, frame: Frame) -> Any:
        """Semantic-only labels: g(I) with pixels under 0.9 confidence set to ignore."""
        return self.ops.semantic(self.segment(frame), SEMANTIC_CONFIDENCE)

    # --- read-outs: what leaves the backend ------------------------------------------------------

    def labels(self, probabilities: Any) -> tuple[np.ndarray, np.ndarray]:
        """Label ids (H, W) uint8 and confidence (H, W) uint8 (255 = certain) of probabilities."""
        channels, confidence = self.ops.channels_and_confidence(probabilities)
        return self.spec.to_ids(channels), confidence

    def labeling(self, track: Track, keyframe_stamp_ns: int, offset: int) -> Labeling:
        """Labels, confidence and support (uint8) of a recursion's state, reached from a keyframe."""
        labels, confidence = self.labels(track.probabilities)
        support = None if track.support is None else self.ops.to_uint8(track.support)
        return Labeling(labels, confidence, keyframe_stamp_ns, offset, support)

    def _image(self, frame: Frame) -> Any:
        """The frame's image as the backend holds it, uploaded once per frame."""
        held = frame.arrays.get(self.ops.name)
        if held is None:
            held = frame.arrays[self.ops.name] = self.ops.image(frame.image)
        return held


def _required(engine: EngineT | None, role: str) -> EngineT:
    if engine is None:
        raise EngineError(f"this step needs a {role} engine and none was given")
    return engine
