"""The +-K rule: every frame within +-K labeled once, from the right keyframe, engines run once; its
plan, its independent windows, and the stream labeler that carries it out."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_panning_sequence

from warp_refine_ros.propagation import (
    KeyframePropagation,
    Labeling,
    Method,
    Propagator,
    Reach,
    StreamLabeler,
    fuse,
)

plan = KeyframePropagation.plan


def run_window(propagator, frames, truth, keyframes, radius):
    labeler = StreamLabeler(propagator, radius)
    out = []
    for index, frame in enumerate(frames):
        out.extend(labeler.push(frame, truth[index] if index in keyframes else None))
    out.extend(labeler.finish())
    return out


@pytest.mark.parametrize(
    ("count", "keyframes", "radius"),
    [(12, [0, 10], 5), (12, [3], 2), (12, [2, 3, 9], 4), (12, [], 3), (12, [0, 6, 11], 0), (12, [5], 20)],
)
def test_window_labels_exactly_the_planned_frames(spec, count, keyframes, radius):
    sequence = make_panning_sequence(spec, count=count)
    propagator = Propagator(
        Method.WARP_INPAINT, spec, motion=sequence.motion, segmentation=sequence.segmentation
    )
    out = run_window(propagator, sequence.frames, sequence.truth, set(keyframes), radius)
    index_of = {frame.stamp_ns: i for i, frame in enumerate(sequence.frames)}
    got = [
        (index_of[lf.frame.stamp_ns], lf.labeling.offset, index_of[lf.labeling.keyframe_stamp_ns])
        for lf in out
    ]
    expected = [(a.index, a.nearest.offset, a.nearest.keyframe) for a in plan(count, keyframes, radius)]
    assert got == expected  # each frame once, in order, with its nearest keyframe and signed offset


def test_plan_reaches_from_both_sides_and_prefers_the_nearest():
    assignments = {a.index: a for a in plan(12, [0, 10], 5)}
    assert assignments[0].nearest == Reach(0, 0)
    assert assignments[5].nearest == Reach(0, 5) and assignments[5].other == Reach(10, -5)
    assert assignments[11].nearest == Reach(10, 1)
    assert sorted(assignments) == list(range(12))
    assert [a.index for a in plan(12, [6], 2)] == [4, 5, 6, 7, 8]


def test_keyframes_at_most_2k_apart_bridge_and_farther_ones_do_not():
    bridged = {a.index: a for a in plan(12, [0, 10], 5)}  # 10 apart, K = 5: both reach every frame between
    assert bridged[7].nearest == Reach(10, -3) and bridged[7].other == Reach(0, 7)
    assert bridged[1].nearest == Reach(0, 1) and bridged[1].other == Reach(10, -9)
    apart = {a.index: a for a in plan(14, [0, 12], 5)}  # 12 apart: each reaches only its K frames
    assert apart[7].nearest == Reach(12, -5) and apart[7].other is None
    assert apart[5].nearest == Reach(0, 5) and apart[5].other is None
    assert 6 not in apart


@pytest.mark.parametrize(
    ("count", "keyframes", "radius"),
    [
        (30, [0, 10, 20], 5),
        (40, [5, 30], 3),
        (12, [0, 1, 2], 2),
        (25, [10], 4),
        (50, [3, 9, 40], 10),
        (9, [], 2),
    ],
)
def test_windows_write_every_planned_frame_once_and_start_at_a_keyframe_or_run_start(
    count, keyframes, radius
):
    windows = KeyframePropagation.windows(count, keyframes, radius)
    written = [i for w in windows for i in range(w.write_from, w.last + 1)]
    assert written == [a.index for a in plan(count, keyframes, radius)]
    for window in windows:
        assert window.first in keyframes or window.first == window.write_from
        assert window.last in keyframes or window.last + 1 == count or window.last + 1 not in written
        assert window.written == range(window.write_from, window.last + 1)
        assert window.keyframes == tuple(k for k in keyframes if window.first <= k <= window.last)


def test_keyframes_are_written_as_labeled(spec, panning):
    propagator = Propagator(Method.MOTION_ONLY, spec, motion=panning.motion)
    out = run_window(propagator, panning.frames, panning.truth, {4}, 2)
    keyframe = next(lf for lf in out if lf.labeling.offset == 0)
    assert keyframe.labeling.labels is panning.truth[4]
    assert (keyframe.labeling.confidence == 255).all()


def test_each_frame_is_segmented_once_and_each_pair_flowed_once(spec, panning):
    propagator = Propagator(
        Method.WARP_INPAINT, spec, motion=panning.motion, segmentation=panning.segmentation
    )
    out = run_window(propagator, panning.frames, panning.truth, {0, 8}, 3)
    propagated = [lf for lf in out if lf.labeling.offset != 0]
    # 8 > 2K apart: frames 1..3 forward from 0, 5..7 backward from 8, 9..11 forward from 8. Not knowing
    # where the next keyframe is, the forward recursion also carries to 4 and 5 (a keyframe at 6 would
    # bridge); frame 5 is segmented once for both directions.
    assert len(propagated) == 3 + 3 + 3
    assert panning.segmentation.calls == 3 + 2 + 2 + 3
    assert panning.motion.calls == 5 + 3 + 3


def test_bridging_keyframes_run_each_recursion_across_once(spec, panning):
    propagator = Propagator(
        Method.WARP_INPAINT, spec, motion=panning.motion, segmentation=panning.segmentation
    )
    out = run_window(propagator, panning.frames, panning.truth, {0, 8}, 6)
    propagated = [lf for lf in out if lf.labeling.offset != 0]
    # 8 <= 2K apart: frames 1..7 forward from 0 and backward from 8, 9..11 forward from 8.
    assert len(propagated) == 7 + 3
    assert panning.segmentation.calls == 10
    assert panning.motion.calls == 7 + 7 + 3


def _fused_by_hand(propagator, frames, truth, before, after):
    """Each frame between two keyframes: the forward and backward recursions run alone, then fused."""
    forward = KeyframePropagation(propagator, len(frames))
    backward = KeyframePropagation(propagator, len(frames))
    for index, frame in enumerate(frames[before : after + 1], start=before):
        forward.add_frame(frame, truth[index] if index == before else None)
        backward.add_frame(frame)
    backward.set_keyframe(len(backward.slots) - 1, truth[after])
    between = zip(list(forward.slots)[1:-1], list(backward.slots)[1:-1], strict=True)
    return [fuse(f.forward, b.backward) for f, b in between]


@pytest.mark.parametrize("late", [False, True])
def test_bridged_frames_are_both_recursions_fused_in_order_or_with_a_late_keyframe(spec, late):
    sequence = make_panning_sequence(spec, count=14, step=3)
    propagator = Propagator(Method.MOTION_ONLY, spec, motion=sequence.motion)
    expected = _fused_by_hand(propagator, sequence.frames, sequence.truth, 2, 11)
    if late:  # the live order: frames first, the later keyframe's label, then the earlier one's
        core = KeyframePropagation(propagator, 5, deferred_backward=True)
        for frame in sequence.frames:
            core.add_frame(frame)
        core.set_keyframe(11, sequence.truth[11])
        core.relabel_all()
        core.set_keyframe(2, sequence.truth[2])
        core.relabel_all()
        got = [slot.labeling for slot in list(core.slots)[3:11]]
    else:
        out = run_window(propagator, sequence.frames, sequence.truth, {2, 11}, 5)
        got = [lf.labeling for lf in out if lf.frame in sequence.frames[3:11]]
    assert len(got) == len(expected) == 8
    for mine, theirs in zip(got, expected, strict=True):
        assert (mine.offset, mine.keyframe_stamp_ns) == (theirs.offset, theirs.keyframe_stamp_ns)
        assert np.array_equal(mine.labels, theirs.labels)
        assert np.array_equal(mine.confidence, theirs.confidence)


def test_fused_frames_are_better_than_either_direction(spec):
    sequence = make_panning_sequence(spec, count=11, step=4)
    propagator = Propagator(Method.MOTION_ONLY, spec, motion=sequence.motion)
    out = run_window(propagator, sequence.frames, sequence.truth, {0, 10}, 10)
    fused = {lf.frame.stamp_ns: lf.labeling for lf in out}
    middle = fused[sequence.frames[7].stamp_ns]
    assert middle.offset == -3
    # Forward alone leaves the entering strip unknown; the backward pass from frame 10 knows it.
    assert (middle.labels != spec.ignore_id).all()
    assert np.array_equal(middle.labels, sequence.truth[7])


def test_fuse_prefers_confidence_weighted_by_closeness():
    shape = (1, 3)
    near = Labeling(np.array([[1, 1, 1]], np.uint8), np.array([[200, 10, 100]], np.uint8), 5, 1)
    far = Labeling(np.array([[2, 2, 2]], np.uint8), np.array([[210, 250, 100]], np.uint8), 9, -3)
    fused = fuse(far, near)
    assert fused.labels.shape == shape
    # weights 3:1 for the nearer keyframe: 600 vs 210 -> near, 30 vs 250 -> far, 300 vs 100 -> near
    assert fused.labels.tolist() == [[1, 2, 1]]
    assert fused.confidence.tolist() == [[200, 250, 100]]
    assert (fused.keyframe_stamp_ns, fused.offset) == (5, 1)


def test_negative_radius_is_rejected(spec, panning):
    with pytest.raises(ValueError, match="radius"):
        StreamLabeler(Propagator(Method.MOTION_ONLY, spec, motion=panning.motion), -1)


def test_fusion_prefers_the_side_motion_supports_over_a_confident_guess():
    # Pixel 0: near side inpainted by g (confident, unsupported), far side warped through trusted
    # motion: the far side wins. Pixel 1: both supported: confidence and closeness decide as before.
    near = Labeling(
        np.array([[1, 1]], np.uint8), np.array([[250, 200]], np.uint8), 5, 1, np.array([[0, 255]], np.uint8)
    )
    far = Labeling(
        np.array([[2, 2]], np.uint8),
        np.array([[180, 220]], np.uint8),
        9,
        -3,
        np.array([[255, 255]], np.uint8),
    )
    fused = fuse(near, far)
    assert fused.labels.tolist() == [[2, 1]]
    assert fused.support.tolist() == [[255, 255]]


def test_support_follows_the_trusted_motion(spec, panning):
    propagator = Propagator(
        Method.WARP_INPAINT, spec, motion=panning.motion, segmentation=panning.segmentation
    )
    track = propagator.start(panning.truth[0])
    for source, target in zip(panning.frames[:2], panning.frames[1:3], strict=True):
        track = propagator.advance(track, source, target)
    assert (track.support[:, :-6] == 1).all()  # warped through trusted motion all the way
    assert (track.support[:, -6:] == 0).all()  # entered the view: g's labels, no support
    assert np.array_equal(
        track.probabilities,
        propagator.step(
            propagator.step(propagator.keyframe(panning.truth[0]), *panning.frames[:2]), *panning.frames[1:3]
        ),
    )


def test_passes_whose_frames_left_the_buffer_are_dropped_when_the_oldest_frame_settles(spec):
    """The live session's eviction (settle_oldest, then pop_oldest) never lets ended backward passes pile
    up, though it never calls relabel_step."""
    sequence = make_panning_sequence(spec, count=12)
    propagator = Propagator(Method.MOTION_ONLY, spec, motion=sequence.motion)
    core = KeyframePropagation(propagator, 3, deferred_backward=True)
    for index in range(120):
        frame = sequence.frames[index % 12]
        core.add_frame(type(frame)(frame.image, index))
        if index % 7 == 2:
            core.set_keyframe(len(core.slots) - 1, sequence.truth[index % 12])
        if len(core.slots) > 6:
            core.settle_oldest()
            core.pop_oldest()
        assert len(core._passes) <= 2
