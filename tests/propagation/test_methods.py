"""Each propagation method on a panning sequence whose motion and truth are known exactly."""

from __future__ import annotations

import numpy as np
import pytest
from doubles import RecordingRefiner

from warp_refine_ros.engines.loading import load_refiner
from warp_refine_ros.errors import EngineError
from warp_refine_ros.propagation import SEMANTIC_CONFIDENCE, Method, Propagator, Track
from warp_refine_ros.propagation.probabilities import NO_CLASS, argmax_confidence


def ids(spec, probs):
    return spec.to_ids(argmax_confidence(probs)[0])


def test_motion_only_follows_exact_motion(spec, panning):
    propagator = Propagator(Method.MOTION_ONLY, spec, motion=panning.motion)
    state = propagator.keyframe(panning.truth[0])
    for source, target in zip(panning.frames[:4], panning.frames[1:5], strict=True):
        state = propagator.step(state, source, target)
    labels = ids(spec, state)
    shift = 4 * 3  # four steps of 3 px: the right 12 columns came from outside the keyframe
    assert np.array_equal(labels[:, :-shift], panning.truth[4][:, :-shift])
    assert (labels[:, -shift:] == spec.ignore_id).all()


def test_warp_inpaint_fills_untrusted_pixels_from_segmentation(spec, panning):
    propagator = Propagator(
        Method.WARP_INPAINT, spec, motion=panning.motion, segmentation=panning.segmentation
    )
    source, target = panning.frames[0], panning.frames[1]
    state = propagator.step(propagator.keyframe(panning.truth[0]), source, target)
    labels = ids(spec, state)
    # Trusted interior: exactly the warped keyframe. Entering strip: g's answer, never ignore.
    assert np.array_equal(labels[:, :-3], panning.truth[1][:, :-3])
    semantic = ids(spec, target.segmentation.probabilities)
    assert np.array_equal(labels[:, -3:], semantic[:, -3:])


def test_warp_inpaint_distrusts_the_warp_where_images_disagree(spec, panning):
    propagator = Propagator(
        Method.WARP_INPAINT, spec, motion=panning.motion, segmentation=panning.segmentation, tau=10
    )
    source, target = panning.frames[0], panning.frames[1]
    target.image = target.image.copy()
    target.image[10:20, 10:20] = 255 - target.image[10:20, 10:20]  # something the warp cannot explain
    panning.motion.remember(target.image, 3, 0)
    panning.segmentation.remember(target.image, panning.truth[1])
    state = propagator.step(propagator.keyframe(panning.truth[0]), source, target)
    semantic = ids(spec, propagator.segment(target).probabilities)
    assert np.array_equal(ids(spec, state)[12:18, 12:18], semantic[12:18, 12:18])


def test_semantic_only_ignores_pixels_below_confidence(spec, panning):
    propagator = Propagator(Method.SEMANTIC_ONLY, spec, segmentation=panning.segmentation)
    target = panning.frames[3]
    state = propagator.step(propagator.keyframe(panning.truth[0]), panning.frames[0], target)
    labels = ids(spec, state)
    confident = target.segmentation.probabilities.max(axis=-1) >= SEMANTIC_CONFIDENCE
    assert 0 < confident.mean() < 1
    assert (labels[~confident] == spec.ignore_id).all()
    assert np.array_equal(labels[confident], ids(spec, target.segmentation.probabilities)[confident])


def test_warp_refine_feeds_omega_what_warp_inpaint_decides_from(spec, panning):
    """Omega replaces eq. 5: it gets the warped labels (their arg-max, no class where motion left the
    image), the trust mask M, g's output and the image of the target, and its output is the new state."""
    refiner = RecordingRefiner()
    propagator = Propagator(
        Method.WARP_REFINE,
        spec,
        motion=panning.motion,
        segmentation=panning.segmentation,
        refiner=refiner,
    )
    source, target = panning.frames[0], panning.frames[1]
    state = propagator.step(propagator.keyframe(panning.truth[0]), source, target)
    ((channels, trusted, segmentation, image),) = refiner.inputs
    assert channels.dtype == np.uint8 and channels.shape == target.image.shape[:2]
    assert trusted.dtype == bool and trusted.shape == target.image.shape[:2]
    arrival = propagator.arrive(Track(propagator.keyframe(panning.truth[0]), None), source, target)
    assert np.array_equal(channels, argmax_confidence(arrival.warped)[0])
    assert np.array_equal(trusted, arrival.trusted)
    assert (channels[:, -3:] == NO_CLASS).all() and not trusted[:, -3:].any()  # entered the view
    assert np.array_equal(spec.to_ids(channels[:, :-3]), panning.truth[1][:, :-3])
    assert image is target.image and segmentation is target.segmentation
    assert np.array_equal(ids(spec, state), ids(spec, refiner.refine(channels, trusted, segmentation, image)))
    assert np.allclose(state.sum(axis=-1), 1)


@pytest.mark.parametrize(
    ("method", "given", "missing"),
    [
        (Method.MOTION_ONLY, {}, "motion"),
        (Method.WARP_INPAINT, {"motion": "m"}, "segmentation"),
        (Method.WARP_REFINE, {"motion": "m", "segmentation": None}, "segmentation and a refiner"),
    ],
)
def test_missing_engines_are_named(spec, method, given, missing):
    with pytest.raises(EngineError, match=missing):
        Propagator(method, spec, **given)


def test_engine_with_another_class_spec_is_rejected(spec, panning):
    from warp_refine_ros.labels import LabelClass, LabelSpec

    other = LabelSpec((LabelClass(0, "floor", (1, 2, 3)), LabelClass(1, "wall", (4, 5, 6))))
    with pytest.raises(EngineError, match="class spec"):
        Propagator(Method.SEMANTIC_ONLY, other, segmentation=panning.segmentation)


def test_unknown_method_lists_the_choices():
    with pytest.raises(ValueError, match="warp-refine"):
        Method.parse("warp-magic")


def test_warp_refine_labels_only_with_the_classes_of_motion_and_g(spec, panning, network_files):
    """Omega runs on the classes the warped labels or g's arg-max hold (engines/network_backend.py), so a
    class that neither brought cannot appear, whatever the network (here random weights) prefers."""
    refiner = load_refiner(str(network_files["refiner.pt"]))
    propagator = Propagator(
        Method.WARP_REFINE,
        spec,
        motion=panning.motion,
        segmentation=panning.segmentation,
        refiner=refiner,
    )
    source, target = panning.frames[0], panning.frames[1]
    state = propagator.step(propagator.keyframe(panning.truth[0]), source, target)
    np.testing.assert_allclose(state.sum(axis=-1), 1.0, atol=1e-5)
    arrival = propagator.arrive(Track(propagator.keyframe(panning.truth[0]), None), source, target)
    brought = set(argmax_confidence(arrival.warped)[0].ravel().tolist()) - {NO_CLASS}
    brought |= set(target.segmentation.coarse.argmax(axis=-1).ravel().tolist())
    assert set(np.flatnonzero(state.reshape(-1, spec.num_classes).any(axis=0)).tolist()) == brought
    assert brought != set(range(spec.num_classes))  # the test means something: some classes are absent
