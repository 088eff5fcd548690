"""Cycle propagation: the refiner's training input."""

from __future__ import annotations

import numpy as np

from warp_refine_ros.propagation import Method, Propagator, cycle_propagate


def test_cycle_shapes_and_zero_length(spec, panning):
    propagator = Propagator(
        Method.WARP_INPAINT, spec, motion=panning.motion, segmentation=panning.segmentation
    )
    labels = panning.truth[0]
    identity = cycle_propagate(propagator, panning.frames[:1], labels)
    assert np.array_equal(identity, spec.one_hot(labels))
    cycled = cycle_propagate(propagator, panning.frames[:4], labels)
    assert cycled.shape == (*labels.shape, spec.num_classes) and cycled.dtype == np.float32


def test_forward_and_backward_cycles_return_to_the_keyframe(spec, panning):
    propagator = Propagator(
        Method.WARP_INPAINT, spec, motion=panning.motion, segmentation=panning.segmentation
    )
    keyframe = 6
    labels = panning.truth[keyframe]
    forward = cycle_propagate(propagator, panning.frames[keyframe : keyframe + 4], labels)
    backward = cycle_propagate(propagator, panning.frames[keyframe : keyframe - 4 : -1], labels)
    decoded = [spec.to_ids(c.argmax(axis=-1).astype(np.uint8)) for c in (forward, backward)]
    # Exact motion: only the strip that entered the view on the way back came from g.
    # Going forward, the way back uncovers the left 9 columns; going backward, the right 9.
    assert np.array_equal(decoded[0][:, 9:], labels[:, 9:])
    assert np.array_equal(decoded[1][:, :-9], labels[:, :-9])
    assert not np.array_equal(decoded[0], labels)  # g's noise shows where the cycle left the view
