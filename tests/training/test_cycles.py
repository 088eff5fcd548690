"""Cycle labels of all lengths in one pass equal cycle_propagate, the labeler's own cycle."""

from __future__ import annotations

import numpy as np

from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import Method, Propagator, cycle_propagate
from warp_refine_ros.training.cycles import cycles_by_length


def test_every_length_matches_cycle_propagate(spec: LabelSpec, panning) -> None:
    propagator = Propagator(
        Method.WARP_INPAINT, spec, motion=panning.motion, segmentation=panning.segmentation
    )
    keyframe = 5
    labels = panning.truth[keyframe]
    for frames in (panning.frames[keyframe : keyframe + 5], panning.frames[keyframe::-1]):
        cycles = cycles_by_length(propagator, frames, labels)
        assert len(cycles) == len(frames) - 1
        for length, cycled in enumerate(cycles, start=1):
            np.testing.assert_array_equal(cycled, cycle_propagate(propagator, frames[: length + 1], labels))


def test_a_lone_keyframe_has_no_cycle(spec: LabelSpec, panning) -> None:
    propagator = Propagator(
        Method.WARP_INPAINT, spec, motion=panning.motion, segmentation=panning.segmentation
    )
    assert cycles_by_length(propagator, panning.frames[:1], panning.truth[0]) == []
