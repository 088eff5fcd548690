"""Cycle propagation: what Omega learns from, arriving back at the keyframe."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from warp_refine_ros.propagation import CycleEnd, Method, Propagator, Track, cycles
from warp_refine_ros.propagation.ops import TorchOps
from warp_refine_ros.propagation.probabilities import NO_CLASS, argmax_confidence


def warp_inpaint(spec, panning, **kwargs) -> Propagator:
    return Propagator(
        Method.WARP_INPAINT, spec, motion=panning.motion, segmentation=panning.segmentation, **kwargs
    )


def test_length_l_gives_l_ends_and_a_lone_keyframe_none(spec, panning):
    propagator = warp_inpaint(spec, panning)
    labels = panning.truth[0]
    assert cycles(propagator, panning.frames[:1], labels) == []
    ends = cycles(propagator, panning.frames[:4], labels)
    assert len(ends) == 3 and all(isinstance(end, CycleEnd) for end in ends)
    for end in ends:
        assert end.channels.shape == end.trusted.shape == labels.shape
        assert end.channels.dtype == np.uint8 and end.trusted.dtype == bool


def test_forward_and_backward_cycles_return_to_the_keyframe(spec, panning):
    """Exact motion: the trusted warped labels at the keyframe are its label, except the strip that left
    the view; going forward the way back uncovers the left 3 l columns, going backward the right 3 l."""
    propagator = warp_inpaint(spec, panning)
    keyframe = 6
    labels = panning.truth[keyframe]
    forward = cycles(propagator, panning.frames[keyframe : keyframe + 4], labels)
    backward = cycles(propagator, panning.frames[keyframe : keyframe - 4 : -1], labels)
    for length, (ahead, behind) in enumerate(zip(forward, backward, strict=True), start=1):
        shift = 3 * length
        for end, kept in ((ahead, np.s_[:, shift:]), (behind, np.s_[:, :-shift])):
            assert end.trusted[kept].all()
            assert np.array_equal(spec.to_ids(end.channels[kept]), labels[kept])
        # The last step back (3 px) comes from outside the previous frame: no label, not trusted.
        assert (ahead.channels[:, :3] == NO_CLASS).all() and not ahead.trusted[:, :3].any()
        assert (behind.channels[:, -3:] == NO_CLASS).all() and not behind.trusted[:, -3:].any()
    # Further in, the strip that left the view came back through g: its noise shows in longer cycles.
    assert not np.array_equal(spec.to_ids(forward[-1].channels[:, 3:9]), labels[:, 3:9])


def test_each_end_is_the_last_step_of_warp_inpaint_there_and_back(spec, panning):
    """The end of the cycle of length l is what arrives at t from warp-inpaint l steps away and l - 1
    back: the same as running that cycle alone."""
    propagator = warp_inpaint(spec, panning)
    frames, labels = panning.frames[2:6], panning.truth[2]
    ends = cycles(propagator, frames, labels)
    for length, end in enumerate(ends, start=1):
        path = [*frames[: length + 1], *frames[length - 1 : 0 : -1]]
        state = propagator.keyframe(labels)
        for source, target in pairwise(path):
            state = propagator.warp_inpaint(state, source, target)
        arrival = propagator.arrive(Track(state, None), path[-1], frames[0])
        assert np.array_equal(end.channels, argmax_confidence(arrival.warped)[0])
        assert np.array_equal(end.trusted, arrival.trusted)


@pytest.mark.usefixtures("one_thread")
def test_the_torch_backend_gives_the_same_cycle_ends(spec, panning):
    labels = panning.truth[0]
    expected = cycles(warp_inpaint(spec, panning), panning.frames[:4], labels)
    found = cycles(warp_inpaint(spec, panning, ops=TorchOps("cpu")), panning.frames[:4], labels)
    for a, b in zip(expected, found, strict=True):
        assert isinstance(b.trusted, np.ndarray)
        assert np.array_equal(a.channels, b.channels) and np.array_equal(a.trusted, b.trusted)
