"""Keyframe labels remembered by stamp until their frame arrives."""

from __future__ import annotations

import numpy as np

from warp_refine_ros.node.keyframe_memory import KeyframeMemory


def test_a_frame_takes_the_nearest_remembered_label_within_the_tolerance():
    memory = KeyframeMemory()
    for stamp in (1000, 1090, 1130):  # 1000 arrived first, 1090 is nearest the frame at 1100
        memory.remember(stamp, np.full((2, 3), stamp % 256, np.uint8), applied=False, capacity=8)
    stamp, labels = memory.match(1100, tolerance_ns=100)
    assert stamp == 1090 and labels[0, 0] == 1090 % 256
    assert memory.waiting == 2
    assert memory.match(1300, tolerance_ns=100) is None
