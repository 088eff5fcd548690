"""One propagation step Psi between two frames, with each frame's cues computed once.

A :class:`Frame` caches its segmentation and its flows to neighbours, so a frame reached by a
forward recursion, a backward recursion and a cycle never runs an engine twice on the same input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np

from warp_refine_ros.engines.base import (
    MotionEngine,
    RefinerEngine,
    Segmentation,
    SegmentationEngine,
)
from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.methods import Method
from warp_refine_ros.propagation.probabilities import (
    argmax_confidence,
    inpaint,
    mask_uncertain,
    pixels_of,
)
from warp_refine_ros.propagation.trust import DEFAULT_TAU, trust_mask
from warp_refine_ros.propagation.warp import SamplingMap, sampling_map, warp_probabilities

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

    probabilities: np.ndarray  # (H, W, C) float32
    support: np.ndarray | None  # (H, W) float32 in [0, 1]


@dataclass(eq=False)
class Frame:
    """An RGB image (H, W, 3) uint8 with its stamp and the engine outputs computed for it so far."""

    image: np.ndarray
    stamp_ns: int
    segmentation: Segmentation | None = None
    flows: dict[int, np.ndarray] = field(default_factory=dict)  # reference stamp -> backward flow


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
        for engine in (segmentation, refiner):
            if engine is not None and engine.spec.ids.tolist() != spec.ids.tolist():
                raise EngineError(
                    f"engine {engine.name} predicts {engine.spec.num_classes} classes "
                    f"{engine.spec.names[:4]}... but the class spec has {spec.num_classes} "
                    f"{spec.names[:4]}...; use the spec the engine was trained with (--classes)"
                )
        if not (math.isfinite(tau) and tau > 0):
            raise ValueError(f"tau must be a positive RGB distance, got {tau}")
        self.spec = spec
        self.motion = motion
        self.segmentation = segmentation
        self.refiner = refiner
        self.tau = float(tau)

    @classmethod
    def from_engines(
        cls, method: Method | str, spec: LabelSpec, engines: Engines, *, tau: float = DEFAULT_TAU
    ) -> Propagator:
        """The one way to assemble Psi: a method over an engine set (any of whose engines may be None)."""
        return cls(
            method,
            spec,
            motion=engines.motion,
            segmentation=engines.segmentation,
            refiner=engines.refiner,
            tau=tau,
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

    def keyframe(self, labels: np.ndarray) -> np.ndarray:
        """L_t as one-hot probabilities (eq. 2)."""
        return self.spec.one_hot(labels)

    def start(self, labels: np.ndarray) -> Track:
        """The track at a keyframe: its one-hot label, fully supported."""
        return Track(self.keyframe(labels), np.ones(labels.shape, dtype=np.float32))

    def advance(self, track: Track, source: Frame, target: Frame) -> Track:
        """One recursion step Psi from source to target for this propagator's method (eq. 1)."""
        if self.method is Method.SEMANTIC_ONLY:
            return Track(self.semantic(target), None)
        if self.method is Method.MOTION_ONLY:
            sampling = sampling_map(self.flow(target, source))
            return Track(warp_probabilities(track.probabilities, sampling), _warp_support(track, sampling))
        blended = self._warp_inpaint(track, source, target)
        if self.method is Method.WARP_INPAINT:
            return blended
        return Track(self.refine(blended.probabilities, target), blended.support)

    def step(self, state: np.ndarray, source: Frame, target: Frame) -> np.ndarray:
        """L*_target = Psi(L*_source): :meth:`advance` on probabilities alone."""
        return self.advance(Track(state, None), source, target).probabilities

    def warp_inpaint(self, state: np.ndarray, source: Frame, target: Frame) -> np.ndarray:
        """Psi^W (eq. 3-6): warp, trust the warp where the images agree, inpaint the rest with g."""
        return self._warp_inpaint(Track(state, None), source, target).probabilities

    def _warp_inpaint(self, track: Track, source: Frame, target: Frame) -> Track:
        sampling = sampling_map(self.flow(target, source))
        warped = warp_probabilities(track.probabilities, sampling)  # Lm, eq. 3
        trusted = trust_mask(target.image, source.image, sampling, self.tau)  # M, eq. 6
        support = _warp_support(track, sampling)
        if support is not None:
            support *= trusted
        untrusted = pixels_of(~trusted)  # g is upsampled only there
        return Track(inpaint(warped, untrusted, self.segment(target).at(untrusted)), support)  # eq. 5

    def refine(self, blended: np.ndarray, target: Frame) -> np.ndarray:
        """Psi^R (eq. 8): Omega on the one-hot warp-inpainted labels, the image and g's features,
        restricted to the classes present in its input."""
        refiner = _required(self.refiner, "refiner")
        channels, _ = argmax_confidence(blended)
        refined = refiner.refine(channels, target.image, self.segment(target).features)
        # Omega denoises: it may move labels between the classes motion and g put in this frame, but
        # not bring in one that neither did (it otherwise hallucinates rare look-alikes: truck for car).
        present = np.bincount(channels.ravel(), minlength=256)[: self.spec.num_classes] > 0
        if present.all():
            return refined
        refined[..., ~present] = 0
        refined /= np.maximum(refined.sum(axis=-1, keepdims=True), np.float32(1e-12))  # still a distribution
        return refined

    def semantic(self, frame: Frame) -> np.ndarray:
        """Semantic-only labels: g(I) with pixels under 0.9 confidence set to ignore."""
        return mask_uncertain(self.segment(frame).probabilities, SEMANTIC_CONFIDENCE)


def _warp_support(track: Track, sampling: SamplingMap) -> np.ndarray | None:
    """The support map carried along the same motion as the labels (0 where it leaves the image)."""
    if track.support is None:
        return None
    return warp_probabilities(track.support, sampling)


def _required(engine: EngineT | None, role: str) -> EngineT:
    if engine is None:
        raise EngineError(f"this step needs a {role} engine and none was given")
    return engine
