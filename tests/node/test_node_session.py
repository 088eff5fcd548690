"""The live labeling session on a synthetic drive with real DIS motion: what it publishes, and when.

Reference for every ordering is StreamLabeler, the code bag_label runs: once the keyframe labels have
all arrived, the session's last labels for each frame must equal what bag_label writes for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np
import pytest

from warp_refine_ros.bags.stream_index import match_keyframes
from warp_refine_ros.errors import EngineError, LabelError
from warp_refine_ros.node import LabelingSession, SessionError, Source
from warp_refine_ros.propagation import Frame, Method, Propagator
from warp_refine_ros.propagation.config import PropagationConfig
from warp_refine_ros.synth import SynthFrame

KEYS = (3, 12, 26)  # 3 and 12 bridge (9 <= 2K apart) with radius 5; 18-20 and 32-39 are beyond reach
RADIUS = 5


def in_order(frames: Sequence[SynthFrame], keys: Iterable[int]) -> list[tuple[str, SynthFrame]]:
    """Each keyframe label right after its image, as a bag with a label topic plays."""
    keys = set(keys)
    events = []
    for frame in frames:
        events.append(("frame", frame))
        if frame.index in keys:
            events.append(("key", frame))
    return events


def late(frames: Sequence[SynthFrame], keys: Iterable[int], delay: int) -> list[tuple[str, SynthFrame]]:
    """Each keyframe label ``delay`` frames after its image (a human or a slow labeler)."""
    by_index = {frame.index: frame for frame in frames}
    due = {key + delay: by_index[key] for key in keys}
    events = []
    for frame in frames:
        events.append(("frame", frame))
        if frame.index in due:
            events.append(("key", due.pop(frame.index)))
    return events + [("key", frame) for frame in due.values()]


@pytest.mark.parametrize("method", [Method.MOTION_ONLY, Method.WARP_INPAINT, Method.WARP_REFINE])
def test_in_order_keyframes_give_the_labels_bag_label_writes(kit, method):
    session = kit.session(method, radius=RADIUS, buffer_size=40)
    outputs = kit.play(session, in_order(kit.frames, KEYS))
    kit.assert_same_as(kit.latest(outputs), kit.reference(kit.frames, KEYS, RADIUS, method))
    assert {output.frame_id for output in outputs} == {"camera"}


def test_each_frame_is_published_on_arrival_with_its_forward_label(kit):
    expected = kit.reference(kit.frames, KEYS, RADIUS)
    session = kit.session(radius=RADIUS)
    for kind, frame in in_order(kit.frames, KEYS):
        if kind == "key":
            kit.play(session, [(kind, frame)])  # with its backward pass, as an idle node runs it
            continue
        outputs = session.add_frame(frame.image, frame.stamp_ns)
        previous_keys = [key for key in KEYS if key < frame.index]
        offset = frame.index - previous_keys[-1] if previous_keys else None
        if offset is None or offset > RADIUS:
            assert outputs == []  # beyond reach: nothing until a later keyframe reaches back
            continue
        (output,) = outputs
        assert (output.stamp_ns, output.source, output.offset, output.update) == (
            frame.stamp_ns,
            Source.FORWARD,
            offset,
            False,
        )
        if offset == 1:  # real flow on real frames: one step from a human label is mostly right
            assert (output.labels == frame.labels).mean() > 0.8
        next_keys = [key for key in KEYS if key > frame.index]
        if not next_keys or next_keys[0] - previous_keys[-1] > 2 * RADIUS:  # bag_label: forward only too
            reference = expected[frame.stamp_ns]
            np.testing.assert_array_equal(output.labels, reference.labels)
            np.testing.assert_array_equal(output.confidence, reference.confidence)


def test_a_late_keyframe_relabels_buffered_frames_with_their_own_stamps(kit):
    session = kit.session(radius=RADIUS)
    outputs = kit.play(session, late(kit.frames, KEYS, delay=3))
    kit.assert_same_as(kit.latest(outputs), kit.reference(kit.frames, KEYS, RADIUS))

    session = kit.session(radius=RADIUS)
    kit.play(session, in_order(kit.frames[:16], KEYS[:1]))
    key = kit.frames[12]
    replies = session.add_keyframe(key.labels, key.stamp_ns)
    index_of = {frame.stamp_ns: frame.index for frame in kit.frames}
    assert [index_of[out.stamp_ns] for out in replies] == [12, 13, 14, 15]  # the backward pass waits
    assert session.relabeling
    while session.relabeling:
        replies += session.relabel_step()
    got = {index_of[out.stamp_ns]: (out.source, out.offset, out.update) for out in replies}
    assert got == {
        12: (Source.KEYFRAME, 0, False),
        13: (Source.FORWARD, 1, False),  # re-propagated forward from the new keyframe
        14: (Source.FORWARD, 2, False),
        15: (Source.FORWARD, 3, False),
        11: (Source.FUSED, -1, False),  # beyond K of frame 3, which bridges with 12: first labels
        10: (Source.FUSED, -2, False),
        9: (Source.FUSED, -3, False),
        8: (Source.FUSED, -4, True),  # published forward from 3 before, now fused: republished
        7: (Source.FUSED, 4, True),  # fused results name the nearer keyframe
        6: (Source.FUSED, 3, True),
        5: (Source.FUSED, 2, True),
        4: (Source.FUSED, 1, True),
    }
    assert all(out.keyframe_stamp_ns in (key.stamp_ns, kit.frames[3].stamp_ns) for out in replies)
    # the forward chain now runs from frame 12: the next frame continues it
    (following,) = session.add_frame(kit.frames[16].image, kit.frames[16].stamp_ns)
    assert (following.keyframe_stamp_ns, following.offset) == (key.stamp_ns, 4)


@pytest.mark.parametrize("order", [(26, 3, 12), (12, 26, 3), (3, 26, 12)])
def test_out_of_order_keyframes_after_all_frames(kit, order):
    session = kit.session(radius=RADIUS, buffer_size=40)
    events = [("frame", frame) for frame in kit.frames] + [("key", kit.frames[key]) for key in order]
    outputs = kit.play(session, events)
    kit.assert_same_as(kit.latest(outputs), kit.reference(kit.frames, KEYS, RADIUS))
    assert session.stats.keyframes_applied == 3


@pytest.mark.parametrize("relabel_steps", [0, 1])
@pytest.mark.parametrize("delay", [0, 3])
def test_relabeling_in_fewer_gaps_ends_with_the_same_labels(kit, relabel_steps, delay):
    """A node that gets no idle moment (0 steps between frames) or only one still ends with bag_label's
    labels: the waiting steps run before their frames leave the buffer, or once the stream pauses."""
    session = kit.session(radius=RADIUS, buffer_size=12)
    outputs = kit.play(session, late(kit.frames, KEYS, delay=delay), relabel_steps=relabel_steps)
    kit.assert_same_as(kit.latest(outputs), kit.reference(kit.frames, KEYS, RADIUS))


def test_a_keyframe_between_a_waiting_pass_and_its_keyframe_takes_over_its_frames(kit):
    session = kit.session(radius=RADIUS, buffer_size=40)
    frames = kit.frames[:14]
    outputs = kit.play(session, [("frame", frame) for frame in frames], relabel_steps=0)
    outputs += session.add_keyframe(frames[12].labels, frames[12].stamp_ns)
    outputs += session.relabel_step() + session.relabel_step()  # frames 11 and 10 from keyframe 12
    outputs += session.add_keyframe(frames[10].labels, frames[10].stamp_ns)
    relabeled = kit.play(session, [])
    # frames 9-5 from keyframe 10; keyframe 12's pass, already past frame 10, ends unfinished
    assert [(out.keyframe_stamp_ns, out.offset) for out in relabeled] == [
        (frames[10].stamp_ns, -distance) for distance in range(1, RADIUS + 1)
    ]
    kit.assert_same_as(kit.latest(outputs + relabeled), kit.reference(frames, (10, 12), RADIUS))


def test_an_early_keyframe_label_for_a_new_image_size_waits_for_its_image(kit):
    session = kit.session(Method.MOTION_ONLY, radius=RADIUS)  # g knows the drive's own size only
    kit.play(session, in_order(kit.frames[:4], [1]))
    small = [cv2.resize(frame.image, (80, 60)) for frame in kit.frames[4:8]]
    key = cv2.resize(kit.frames[4].labels, (80, 60), interpolation=cv2.INTER_NEAREST)
    stamps = [frame.stamp_ns for frame in kit.frames[4:8]]
    assert session.add_keyframe(key, stamps[0]) == []  # before its image; the camera is still 160x120
    assert session.stats.keyframes_invalid == 0 and session.stats.keyframes_waiting == 1
    outputs = []
    for image, stamp in zip(small, stamps, strict=True):
        outputs += session.add_frame(image, stamp)
    assert session.stats.resets == 1 and session.stats.keyframes_applied == 2
    assert [(output.source, output.offset) for output in outputs] == [
        (Source.KEYFRAME, 0),
        *((Source.FORWARD, offset) for offset in (1, 2, 3)),
    ]
    np.testing.assert_array_equal(outputs[0].labels, key)


def test_a_keyframe_label_before_its_image_waits_for_it(kit):
    session = kit.session(radius=RADIUS)
    events = []
    for kind, frame in in_order(kit.frames, KEYS):
        if kind == "key":
            events.insert(len(events) - 1, (kind, frame))  # just before its image
        else:
            events.append((kind, frame))
    assert events[3:5] == [("key", kit.frames[3]), ("frame", kit.frames[3])]
    outputs = kit.play(session, events[:4])
    assert session.stats.keyframes_waiting == 1
    outputs += kit.play(session, events[4:])
    assert session.stats.keyframes_waiting == 0
    kit.assert_same_as(kit.latest(outputs), kit.reference(kit.frames, KEYS, RADIUS))


def test_keyframes_for_frames_not_buffered_are_reported(kit):
    session = kit.session(radius=RADIUS, buffer_size=8)
    kit.play(session, (("frame", frame) for frame in kit.frames[:20]))
    assert session.buffered == 8
    too_old = kit.frames[2]
    assert session.add_keyframe(too_old.labels, too_old.stamp_ns) == []
    between = (kit.frames[15].stamp_ns + kit.frames[16].stamp_ns) // 2
    assert session.add_keyframe(kit.frames[15].labels, between) == []
    assert (session.stats.keyframes_too_old, session.stats.keyframes_unmatched) == (1, 1)
    assert "< 2 x radius" in kit.warnings[0]  # 8 frames cannot hold a bridging keyframe's backward pass
    assert "older than every buffered frame" in kit.warnings[1] and "buffer_size" in kit.warnings[1]
    assert "matches no buffered frame" in kit.warnings[2]
    # a label for a stamp the stream then skips is reported when the stream passes it
    session.add_keyframe(kit.frames[15].labels, kit.frames[19].stamp_ns + 30_000_000)
    session.add_frame(kit.frames[20].image, kit.frames[20].stamp_ns)
    assert session.stats.keyframes_unmatched == 2
    assert "went past its stamp" in kit.warnings[-1]


def test_a_keyframe_label_halfway_between_two_frames_goes_where_bag_label_puts_it(kit):
    first, second = kit.frames[4], kit.frames[5]
    halfway = (first.stamp_ns + second.stamp_ns) // 2
    assert halfway - first.stamp_ns == second.stamp_ns - halfway  # a true tie
    tolerance = halfway - first.stamp_ns
    (matched,) = match_keyframes([first.stamp_ns, second.stamp_ns], [halfway], tolerance).by_index
    session = kit.session(radius=RADIUS, stamp_tolerance_ns=tolerance)
    kit.play(session, (("frame", frame) for frame in kit.frames[:8]))
    (keyframe,) = [o for o in session.add_keyframe(first.labels, halfway) if o.source is Source.KEYFRAME]
    assert keyframe.stamp_ns == (first, second)[matched].stamp_ns == first.stamp_ns


def test_only_dis_flow_limits_the_image_size(kit):
    frame = kit.frames[0]
    image, labels = np.ascontiguousarray(frame.image[:6, :10]), np.ascontiguousarray(frame.labels[:6, :10])
    with pytest.raises(SessionError, match="too small"):
        kit.session(Method.MOTION_ONLY).add_frame(image, frame.stamp_ns)
    session = kit.session(Method.SEMANTIC_ONLY)
    assert session.add_keyframe(labels, frame.stamp_ns) == []  # before its image: it waits
    (output,) = session.add_frame(image, frame.stamp_ns)
    assert output.source is Source.KEYFRAME and output.labels.shape == (6, 10)


def test_dropped_frames_count_as_absent(kit):
    dropped = {1, 6, 9, 10, 11, 20, 27, 28}
    kept = [frame for frame in kit.frames if frame.index not in dropped]
    session = kit.session(radius=RADIUS)
    outputs = kit.play(session, late(kept, KEYS, delay=2))
    expected = kit.reference(kept, KEYS, RADIUS)
    kit.assert_same_as(kit.latest(outputs), expected)
    # radius counts received frames: after 26 come 29, 30, 31, 32, 33, so 33 is offset 5 and 34 is out
    assert expected[kit.frames[33].stamp_ns].offset == 5
    assert kit.frames[34].stamp_ns not in expected


def test_time_going_back_starts_over_and_a_replay_is_labeled_again(kit):
    first = kit.frames[:20]
    session = kit.session(radius=RADIUS)
    outputs = kit.play(session, in_order(first, [3]))
    expected = kit.reference(first, [3], RADIUS)
    kit.assert_same_as(kit.latest(outputs), expected)
    # the bag loops: same stamps again, no label topic replayed; the remembered label applies again
    replay = kit.play(session, (("frame", frame) for frame in first))
    assert session.stats.resets == 1 and "time went back" in kit.warnings[0]
    kit.assert_same_as(kit.latest(replay), expected)
    # a fresh start: nothing before the keyframe carried over, nothing republished
    assert replay[0].source is Source.KEYFRAME and not any(output.update for output in replay)


def test_a_long_gap_or_a_new_image_size_starts_over(kit):
    session = kit.session(radius=10, max_gap_ns=500_000_000)
    kit.play(session, in_order(kit.frames[:6], [3]))
    later = kit.frames[6]
    assert session.add_frame(later.image, later.stamp_ns + 2_000_000_000) == []  # would be offset 3
    assert session.stats.resets == 1 and session.buffered == 1
    small = cv2.resize(kit.frames[7].image, (80, 60))
    session.add_frame(small, kit.frames[7].stamp_ns + 2_000_000_000)
    assert session.stats.resets == 2 and "image size changed" in kit.warnings[-1]


def test_a_repeated_stamp_is_rejected(kit):
    session = kit.session(radius=RADIUS)
    frame = kit.frames[0]
    session.add_frame(frame.image, frame.stamp_ns)
    assert session.add_frame(frame.image, frame.stamp_ns + 1000) == []  # within the 1 ms tolerance
    assert (session.stats.frames, session.stats.frames_rejected, session.buffered) == (1, 1, 1)


def test_beyond_radius_semantic_publishes_g_alone(kit):
    session = kit.session(radius=RADIUS, beyond_radius="semantic")
    outputs = kit.play(session, in_order(kit.frames, KEYS))
    final = kit.latest(outputs)
    expected = kit.reference(kit.frames, KEYS, RADIUS)
    semantic = Propagator(Method.SEMANTIC_ONLY, kit.spec, segmentation=kit.segmentation)
    unreached = [frame for frame in kit.frames if frame.stamp_ns not in expected]
    assert [frame.index for frame in unreached] == [18, 19, 20, *range(32, 40)]
    for frame in unreached:
        output = final[frame.stamp_ns]
        labels, confidence = semantic.labels(semantic.semantic(Frame(frame.image, frame.stamp_ns)))
        assert (output.source, output.keyframe_stamp_ns, output.offset) == (Source.SEMANTIC, None, None)
        np.testing.assert_array_equal(output.labels, labels)
        np.testing.assert_array_equal(output.confidence, confidence)
    kit.assert_same_as({s: o for s, o in final.items() if s in expected}, expected)
    # frames 0-2 were semantic on arrival; the keyframe at 3 replaced that with backward labels
    assert final[kit.frames[0].stamp_ns].source is Source.BACKWARD


def test_method_radius_and_tau_change_at_run_time(kit):
    session = kit.session(radius=RADIUS)
    kit.play(session, in_order(kit.frames[:7], [3]))  # chain at offset 3
    session.reconfigure(radius=2)
    assert session.add_frame(kit.frames[7].image, kit.frames[7].stamp_ns) == []  # offset 4 > 2: stops
    session.reconfigure(method="motion-only", tau=25.0)
    assert (session.propagator.method, session.propagator.tau) == (Method.MOTION_ONLY, 25.0)
    with pytest.raises(EngineError, match="refiner"):
        session.reconfigure(method="warp-refine")  # no refiner engine loaded
    with pytest.raises(SessionError, match="tau"):
        session.reconfigure(tau=0.0)
    with pytest.raises(SessionError, match="unknown method"):
        session.reconfigure(method="optical-magic")
    assert session.config.propagation == PropagationConfig(Method.MOTION_ONLY, 2, 25.0)


def test_invalid_keyframe_labels_are_refused(kit):
    session = kit.session(radius=RADIUS)
    frame = kit.frames[0]
    session.add_frame(frame.image, frame.stamp_ns)
    with pytest.raises(LabelError, match="label is 80x60 but the image is 160x120"):
        session.add_keyframe(np.zeros((60, 80), np.uint8), frame.stamp_ns)
    bad = frame.labels.copy()
    bad[0, 0] = 200
    with pytest.raises(LabelError, match=r"ids \[200\] are not in the class spec"):
        session.add_keyframe(bad, frame.stamp_ns)
    with pytest.raises(SessionError, match=r"\(H, W, 3\) uint8"):
        session.add_frame(frame.labels, frame.stamp_ns + 100_000_000)
    assert session.stats.keyframes_invalid == 2


def test_the_torch_backend_publishes_what_bag_label_writes_with_numpy(kit):
    from warp_refine_ros.propagation.ops import TorchOps

    numpy_session = kit.session(Method.WARP_INPAINT, radius=RADIUS, buffer_size=40)
    session = LabelingSession(kit.spec, numpy_session.engines, numpy_session.config, ops=TorchOps("cpu"))
    outputs = kit.play(session, in_order(kit.frames, KEYS))
    assert isinstance(session.propagator.ops, TorchOps)
    kit.assert_same_as(kit.latest(outputs), kit.reference(kit.frames, KEYS, RADIUS, Method.WARP_INPAINT))
