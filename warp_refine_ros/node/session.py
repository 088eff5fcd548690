"""The live labeler's logic, free of ROS: frames and keyframe labels in, label images to publish out.

A bounded ring buffer holds the most recent frames, each with the cues the engines computed for it
(segmentation, flows to its neighbours), so a frame reached forward, then backward, then forward
again from a late keyframe never runs an engine twice. The propagation itself is
:class:`~warp_refine_ros.propagation.KeyframePropagation`, the core ``bag_label`` drives through
:class:`~warp_refine_ros.propagation.StreamLabeler`; this session adds stamps, late labels and resets:

- a new frame is labeled at once by the forward recursion (eq. 1) from the newest keyframe at or
  before it, if that keyframe is at most ``radius`` frames back; beyond that it gets g's
  semantic-only labels or nothing (``beyond_radius``);
- a keyframe label may arrive late and out of order. When it names a buffered frame, that frame
  becomes a keyframe and the later buffered frames up to the next keyframe are propagated forward from
  it again at once (the newest frame's labels depend on them). The earlier ones within ``radius`` get
  backward labels (eq. 9-11) fused with their forward ones one frame per :meth:`relabel_step`, which
  the caller runs while no frame waits; a frame about to leave the buffer gets its steps first. Each
  changed frame is returned again with its own stamp;
- a keyframe for a stamp newer than every frame waits until its frame arrives; one for a stamp no
  longer buffered, or matching no frame, is counted and reported;
- time going backwards (a bag loop, ``/clock`` reset), a gap longer than ``max_gap_ns`` or a change of
  image size starts over with an empty buffer. Keyframe labels are remembered by stamp (up to
  ``keyframe_memory``), so a replayed bag is labeled again even if its labels were published once.

Once every keyframe has arrived while its frames were buffered and the relabel steps have run, the
last labels returned for each frame are exactly those ``StreamLabeler`` writes for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from warp_refine_ros.bags.images import too_small_for
from warp_refine_ros.engines.loading import EngineSet
from warp_refine_ros.errors import LabelError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.node.config import (
    BeyondRadius,
    LabelOutput,
    SessionConfig,
    SessionError,
    SessionStats,
    Source,
)
from warp_refine_ros.node.keyframe_memory import KeyframeMemory
from warp_refine_ros.propagation import (
    Frame,
    KeyframePropagation,
    Propagator,
    Slot,
)
from warp_refine_ros.propagation.ops import ArrayOps

_LOG = logging.getLogger(__name__)


class LabelingSession:
    """Propagates keyframe labels through a live stream of frames; not thread-safe (lock around it)."""

    def __init__(
        self,
        spec: LabelSpec,
        engines: EngineSet,
        config: SessionConfig | None = None,
        *,
        warn: Callable[[str], None] = _LOG.warning,
        ops: ArrayOps | None = None,
    ) -> None:
        self.spec = spec
        self.engines = engines
        self.ops = ops  # the propagation's array backend (numpy unless given)
        self._warn = warn
        self.config = config or SessionConfig()
        self.propagator = self._propagator(self.config)
        self.stats = SessionStats()
        self._core = KeyframePropagation(
            self.propagator, self.config.propagation.radius, deferred_backward=True
        )
        self._frame_ids: dict[int, str] = {}  # stamp -> header frame_id of each buffered frame
        self._published: set[int] = set()  # stamps of buffered frames published at least once
        self._keyframes = KeyframeMemory()

    # --- settings --------------------------------------------------------------------------------

    def reconfigure(self, **changes: object) -> SessionConfig:
        """Change settings at run time (method, radius, tau, ...); nothing changes if one is invalid."""
        config = self.config.with_changes(**changes)
        propagator = self._propagator(config)
        while len(self._core.slots) > config.buffer_size:
            self._evict()
        self.config, self.propagator = config, propagator
        self._core.propagator, self._core.radius = propagator, config.propagation.radius
        return config

    def _propagator(self, config: SessionConfig) -> Propagator:
        propagation = config.propagation
        if config.buffer_size < (bridge := 2 * propagation.radius):
            self._warn(
                f"buffer_size {config.buffer_size} < 2 x radius {propagation.radius}: backward labels reach "
                f"only {config.buffer_size - 1} frames before a keyframe, and keyframes up to {bridge} "
                f"apart bridge; raise buffer_size to at least {bridge}"
            )
        if config.beyond_radius is BeyondRadius.SEMANTIC and self.engines.segmentation is None:
            raise SessionError(
                "beyond_radius 'semantic' needs a segmentation engine; add one to the engine set "
                "or use beyond_radius 'none'"
            )
        return Propagator.from_engines(
            propagation.method, self.spec, self.engines, tau=propagation.tau, ops=self.ops
        )

    # --- input -----------------------------------------------------------------------------------

    def add_frame(self, image: np.ndarray, stamp_ns: int, frame_id: str = "") -> list[LabelOutput]:
        """A new camera frame: label it at once, as a keyframe if its label came first."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise SessionError(
                f"frame at {stamp_ns} ns: expected an (H, W, 3) uint8 RGB image, "
                f"got shape {image.shape} {image.dtype}"
            )
        motion = self.propagator.motion if self.config.propagation.method.needs_motion else None
        if problem := too_small_for(motion, *image.shape[:2]):
            raise SessionError(f"frame at {stamp_ns} ns: {problem}")
        if self._core.slots and not self._accepts(image, stamp_ns):
            return []
        settled = self._evict() if len(self._core.slots) >= self.config.buffer_size else []
        self._frame_ids[stamp_ns] = frame_id
        self.stats.frames += 1
        labels = self._remembered_labels(stamp_ns, image.shape)
        if labels is not None:
            self.stats.keyframes_applied += 1
        return settled + self._outputs(self._core.add_frame(Frame(image, stamp_ns), labels))

    def add_keyframe(self, labels: np.ndarray, stamp_ns: int) -> list[LabelOutput]:
        """A human label for the frame stamped ``stamp_ns``, whenever it arrives."""
        slots = self._core.slots
        tolerance = self.config.stamp_tolerance_ns
        early = not slots or stamp_ns > slots[-1].frame.stamp_ns + tolerance
        position = None if early else self._core.position_of(stamp_ns, tolerance)
        shape = slots[position].frame.image.shape if position is not None else None  # early: on arrival
        try:
            self.spec.validate(labels, shape=shape, name=f"keyframe label at {stamp_ns} ns")
        except LabelError:
            self.stats.keyframes_invalid += 1
            raise
        if early:
            self._remember(stamp_ns, labels, applied=False)
            return []
        if position is None:
            oldest = slots[0].frame.stamp_ns
            if stamp_ns < oldest - tolerance:
                self.stats.keyframes_too_old += 1
                self._warn(
                    f"keyframe label at {stamp_ns} ns is older than every buffered frame (oldest "
                    f"{oldest} ns, {len(slots)} frames kept); raise buffer_size to accept later labels"
                )
            else:
                self.stats.keyframes_unmatched += 1
                self._warn(
                    f"keyframe label at {stamp_ns} ns matches no buffered frame within "
                    f"{tolerance} ns; it must carry its image's header stamp"
                )
            return []
        self._remember(slots[position].frame.stamp_ns, labels, applied=True)
        self.stats.keyframes_applied += 1
        return self._outputs(self._core.set_keyframe(position, labels))

    def reset(self, reason: str = "requested") -> None:
        """Forget every buffered frame and the forward recursion; remembered keyframe labels stay."""
        if not self._core.slots:
            return
        self._warn(f"labeling starts over: {reason}")
        self._core.clear()
        self._frame_ids.clear()
        self._published.clear()
        self.stats.resets += 1

    @property
    def buffered(self) -> int:
        """Frames in the ring buffer now."""
        return len(self._core.slots)

    @property
    def relabeling(self) -> bool:
        """Backward relabeling after a keyframe is waiting for :meth:`relabel_step`."""
        return self._core.relabeling

    def relabel_step(self) -> list[LabelOutput]:
        """One frame of waiting backward relabeling (run it while no frame waits); [] when none is left."""
        return self._outputs(self._core.relabel_step())

    # --- stream bookkeeping ----------------------------------------------------------------------

    def _accepts(self, image: np.ndarray, stamp_ns: int) -> bool:
        newest = self._core.slots[-1].frame
        delta = stamp_ns - newest.stamp_ns
        if abs(delta) <= self.config.stamp_tolerance_ns:
            self.stats.frames_rejected += 1
            return False
        if delta < 0:
            self.reset(f"time went back by {-delta / 1e9:.3f} s (bag loop or clock reset)")
        elif self.config.max_gap_ns and delta > self.config.max_gap_ns:
            self.reset(f"{delta / 1e9:.3f} s without frames (max_gap {self.config.max_gap_ns / 1e9:g} s)")
        elif image.shape != newest.image.shape:
            self.reset(f"image size changed from {newest.image.shape[:2]} to {image.shape[:2]}")
        return True

    def _evict(self) -> list[LabelOutput]:
        """Let the oldest frame go, after the relabel steps that still reach it (returned)."""
        settled = self._outputs(self._core.settle_oldest())
        stamp = self._core.pop_oldest().frame.stamp_ns
        self._frame_ids.pop(stamp, None)
        self._published.discard(stamp)
        return settled

    def _remember(self, stamp_ns: int, labels: np.ndarray, *, applied: bool) -> None:
        capacity = self.config.keyframe_memory
        if capacity == 0 and not applied:
            self.stats.keyframes_unmatched += 1
            self._warn(f"keyframe label at {stamp_ns} ns arrived before its image and keyframe_memory is 0")
            return
        for stamp in self._keyframes.remember(stamp_ns, labels, applied=applied, capacity=capacity):
            self.stats.keyframes_unmatched += 1
            self._warn(
                f"keyframe label at {stamp} ns dropped unused: more than {capacity} labels arrived "
                "before their images; raise keyframe_memory"
            )
        self.stats.keyframes_waiting = self._keyframes.waiting

    def _remembered_labels(self, stamp_ns: int, shape: tuple[int, ...]) -> np.ndarray | None:
        """The remembered label for the frame just added, if any; report waiting labels now passed."""
        tolerance = self.config.stamp_tolerance_ns
        for stamp in self._keyframes.passed(stamp_ns, tolerance):
            self.stats.keyframes_unmatched += 1
            self._warn(f"keyframe label at {stamp} ns matched no image: the stream went past its stamp")
        found = self._keyframes.match(stamp_ns, tolerance)
        self.stats.keyframes_waiting = self._keyframes.waiting
        if found is None:
            return None
        stamp, labels = found
        if labels.shape != shape[:2]:
            self._keyframes.forget(stamp)
            self.stats.keyframes_invalid += 1
            self._warn(
                f"keyframe label at {stamp} ns is {labels.shape[1]}x{labels.shape[0]} but its image is "
                f"{shape[1]}x{shape[0]}; label the image at its published size"
            )
            return None
        return labels

    # --- output ----------------------------------------------------------------------------------

    def _outputs(self, slots: list[Slot]) -> list[LabelOutput]:
        outputs = []
        for slot in slots:
            output = self._output(slot)
            if output is None:
                continue
            self._published.add(slot.frame.stamp_ns)
            self.stats.published += 1
            self.stats.updates += output.update
            outputs.append(output)
        return outputs

    def _output(self, slot: Slot) -> LabelOutput | None:
        """What the frame is labeled with now: keyframe, fused, one direction, or the fallback."""
        labeling = slot.labeling
        if labeling is not None:
            labels, confidence = labeling.labels, labeling.confidence
            keyframe_stamp_ns, offset = labeling.keyframe_stamp_ns, labeling.offset
        elif self.config.beyond_radius is BeyondRadius.SEMANTIC:
            labels, confidence = self.propagator.labels(self.propagator.semantic(slot.frame))
            keyframe_stamp_ns = offset = None
        else:
            return None
        stamp = slot.frame.stamp_ns
        return LabelOutput(
            stamp_ns=stamp,
            frame_id=self._frame_ids.get(stamp, ""),
            image=slot.frame.image,
            labels=labels,
            confidence=confidence,
            source=slot.source or Source.SEMANTIC,
            keyframe_stamp_ns=keyframe_stamp_ns,
            offset=offset,
            update=stamp in self._published,
        )
