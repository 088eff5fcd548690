"""Streaming keyframe propagation over one camera's frames with memory bounded by the radius K.

Frames are pushed in order, each with its keyframe label if it has one. A frame after a keyframe
is labeled at once by the forward recursion; it stays pending until either a keyframe arrives within
K frames (backward recursion, then fusion) or K more frames have passed. Only pending frames are held,
so memory is at most K+1 frames whatever the length of the bag.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.probabilities import argmax_confidence, confidence_to_uint8
from warp_refine_ros.propagation.propagator import Frame, Propagator, Track


@dataclass(frozen=True)
class Labeling:
    """Labels of one frame as reached from one keyframe (or fused from two)."""

    labels: np.ndarray  # (H, W) uint8 class ids, ignore id where unknown
    confidence: np.ndarray  # (H, W) uint8, 255 = certain
    keyframe_stamp_ns: int
    offset: int  # signed frames from that keyframe, 0 = the keyframe itself
    support: np.ndarray | None = None  # (H, W) uint8: 255 = reached through trusted motion (Track.support)

    @classmethod
    def of_keyframe(cls, labels: np.ndarray, stamp_ns: int) -> Labeling:
        """A keyframe's own human label: certain everywhere, offset 0."""
        certain = np.full(labels.shape, 255, dtype=np.uint8)
        return cls(labels, certain, stamp_ns, 0, certain)

    @classmethod
    def of_track(cls, spec: LabelSpec, track: Track, keyframe_stamp_ns: int, offset: int) -> Labeling:
        """Labels, confidence and support of a recursion's state."""
        labels, confidence = ids_and_confidence(spec, track.probabilities)
        support = None if track.support is None else confidence_to_uint8(track.support)
        return cls(labels, confidence, keyframe_stamp_ns, offset, support)


def ids_and_confidence(spec: LabelSpec, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label ids (H, W) uint8 and confidence (H, W) uint8 of probabilities (H, W, C): argmax and its value."""
    channels, confidence = argmax_confidence(state)
    return spec.to_ids(channels), confidence_to_uint8(confidence)


@dataclass(frozen=True)
class LabeledFrame:
    """A finished frame: the image it labels and its labeling."""

    frame: Frame
    labeling: Labeling


def fuse(first: Labeling, second: Labeling) -> Labeling:
    """Per pixel, keep the labeling that motion supports more, weighted by closeness in time.

    The key of a pixel is its support (how much of its label came through trusted motion), with its
    confidence breaking ties; without support (semantic-only) it is the confidence alone. A keyframe
    d frames away weighs (D - d) / D, D the sum of both distances, so equal keys go to the nearer
    keyframe, and a pixel the nearer one could not reach through trusted motion (out of view, or
    inpainted by g) is taken from the other. The result reports the nearer keyframe and its offset.
    """
    if abs(second.offset) < abs(first.offset):
        first, second = second, first
    near, far = abs(first.offset), abs(second.offset)
    take_second = _key(second) * np.float32(near) > _key(first) * np.float32(far)
    support = None
    if first.support is not None and second.support is not None:
        support = np.where(take_second, second.support, first.support)
    return Labeling(
        labels=np.where(take_second, second.labels, first.labels),
        confidence=np.where(take_second, second.confidence, first.confidence),
        keyframe_stamp_ns=first.keyframe_stamp_ns,
        offset=first.offset,
        support=support,
    )


def _key(labeling: Labeling) -> np.ndarray:
    """Support first, confidence second, as one float per pixel."""
    key = labeling.confidence.astype(np.float32)
    if labeling.support is not None:
        key += labeling.support.astype(np.float32) * 256.0
    return key


@dataclass
class _Pending:
    frame: Frame
    index: int
    forward: Labeling | None


class WindowLabeler:
    """Labels every frame within +-radius of a keyframe, forward and backward, fusing overlaps."""

    def __init__(self, propagator: Propagator, radius: int) -> None:
        if radius < 0:
            raise ValueError(f"radius must be >= 0, got {radius}")
        self.propagator = propagator
        self.radius = radius
        self._pending: deque[_Pending] = deque()
        self._index = -1
        self._chain: tuple[Frame, Track, int, int] | None = None  # frame, track, key stamp, offset

    def push(self, frame: Frame, keyframe_labels: np.ndarray | None = None) -> Iterator[LabeledFrame]:
        """Add the next frame (with its human label if it is a keyframe); yield frames now final."""
        self._index += 1
        if keyframe_labels is not None:
            if keyframe_labels.shape != frame.image.shape[:2]:  # callers validate labels: this is a bug
                raise ValueError(
                    f"keyframe label at {frame.stamp_ns} has shape {keyframe_labels.shape}, its frame "
                    f"{frame.image.shape[:2]}"
                )
            yield from self._keyframe(frame, keyframe_labels)
            return
        forward = self._advance_chain(frame)
        self._pending.append(_Pending(frame, self._index, forward))
        while self._pending and self._pending[0].index <= self._index - self.radius:
            yield from self._finalize(self._pending.popleft())

    def finish(self) -> Iterator[LabeledFrame]:
        """End of stream: pending frames keep their forward labels (no later keyframe comes)."""
        while self._pending:
            yield from self._finalize(self._pending.popleft())
        self._chain = None

    def _advance_chain(self, frame: Frame) -> Labeling | None:
        if self._chain is None:
            return None
        source, track, key_stamp, offset = self._chain
        if offset >= self.radius:
            self._chain = None  # beyond K: stop computing and free the state
            return None
        track = self.propagator.advance(track, source, frame)
        self._chain = (frame, track, key_stamp, offset + 1)
        return self._labeling(track, key_stamp, offset + 1)

    def _keyframe(self, frame: Frame, labels: np.ndarray) -> Iterator[LabeledFrame]:
        track = self.propagator.start(labels)
        backward: dict[int, Labeling] = {}
        source, back_track = frame, track
        # Every pending frame is within K of this keyframe (older ones were finalized in push).
        for pending in reversed(self._pending):  # eq. 9-11: from the keyframe back in time
            back_track = self.propagator.advance(back_track, source, pending.frame)
            source = pending.frame
            backward[pending.index] = self._labeling(back_track, frame.stamp_ns, pending.index - self._index)
        while self._pending:
            pending = self._pending.popleft()
            yield from self._finalize(pending, backward.get(pending.index))
        yield LabeledFrame(frame, Labeling.of_keyframe(labels, frame.stamp_ns))
        self._chain = (frame, track, frame.stamp_ns, 0)

    def _finalize(self, pending: _Pending, backward: Labeling | None = None) -> Iterator[LabeledFrame]:
        if pending.forward is not None and backward is not None:
            yield LabeledFrame(pending.frame, fuse(pending.forward, backward))
        elif pending.forward is not None or backward is not None:
            yield LabeledFrame(pending.frame, pending.forward or backward)

    def _labeling(self, track: Track, key_stamp: int, offset: int) -> Labeling:
        return Labeling.of_track(self.propagator.spec, track, key_stamp, offset)
