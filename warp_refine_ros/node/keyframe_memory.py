"""Keyframe labels the live session remembers by stamp: early ones wait for their frame, applied ones
stay for a bag loop."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from warp_refine_ros.propagation import nearest_stamp


@dataclass
class _Remembered:
    labels: np.ndarray
    applied: bool


class KeyframeMemory:
    """Keyframe labels by stamp: early ones wait for their frame, applied ones stay for a bag loop."""

    def __init__(self) -> None:
        self._labels: OrderedDict[int, _Remembered] = OrderedDict()  # oldest arrival first

    @property
    def waiting(self) -> int:
        return sum(not entry.applied for entry in self._labels.values())

    def remember(self, stamp_ns: int, labels: np.ndarray, *, applied: bool, capacity: int) -> list[int]:
        """Store a label; returns the stamps of labels pushed out while still waiting for their frame."""
        self._labels.pop(stamp_ns, None)
        self._labels[stamp_ns] = _Remembered(labels, applied)
        lost = []
        while len(self._labels) > capacity:
            stamp, entry = self._labels.popitem(last=False)
            if not entry.applied:
                lost.append(stamp)
        return lost

    def match(self, stamp_ns: int, tolerance_ns: int) -> tuple[int, np.ndarray] | None:
        """The label for a frame stamped ``stamp_ns`` (marked applied), if one is remembered: the nearest
        within the tolerance, as a bag's labels are matched (:func:`nearest_stamp`)."""
        if not self._labels:
            return None
        stamps = sorted(self._labels)
        stamp = stamps[nearest_stamp(stamps, stamp_ns)]
        if abs(stamp - stamp_ns) > tolerance_ns:
            return None
        entry = self._labels[stamp]
        entry.applied = True
        return stamp, entry.labels

    def forget(self, stamp_ns: int) -> None:
        self._labels.pop(stamp_ns, None)

    def passed(self, stamp_ns: int, tolerance_ns: int) -> list[int]:
        """Forget the waiting labels the stream has gone past without a matching frame; their stamps."""
        gone = [s for s, e in self._labels.items() if not e.applied and s < stamp_ns - tolerance_ns]
        for stamp in gone:
            del self._labels[stamp]
        return gone
