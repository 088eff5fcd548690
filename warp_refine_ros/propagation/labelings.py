"""What a frame is labeled with: a keyframe's own label or a recursion's result, and the fusion of two.

A :class:`Labeling` is what bag_label writes and the node publishes: class ids, confidence and the
support motion gives each pixel (uint8 maps), with the keyframe it came from and the signed offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
