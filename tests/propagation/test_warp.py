"""Warping, the trust mask and the per-pixel probability operations."""

from __future__ import annotations

import numpy as np
import pytest

from warp_refine_ros.propagation import sampling_map, trust_mask, warp_probabilities
from warp_refine_ros.propagation.probabilities import (
    NO_CLASS,
    argmax_confidence,
    inpaint,
    mask_uncertain,
    pixels_of,
)


def constant_flow(height: int, width: int, dx: float, dy: float) -> np.ndarray:
    flow = np.empty((height, width, 2), dtype=np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


def test_integer_translation_moves_labels_exactly(spec):
    labels = np.zeros((20, 30), dtype=np.uint8)
    labels[5:9, 10:14] = 13
    # Content moved 3 px right and 2 px down: target pixel x came from x - (3, 2) in the source.
    warped = warp_probabilities(spec.one_hot(labels), sampling_map(constant_flow(20, 30, -3, -2)))
    channels, confidence = argmax_confidence(warped)
    moved = spec.to_ids(channels)
    assert (moved[7:11, 13:17] == 13).all()
    assert (moved == 13).sum() == 16
    inside = confidence > 0
    assert not inside[:2].any() and not inside[:, :3].any()  # nothing comes from outside the image
    assert (moved[~inside] == spec.ignore_id).all()


def test_subpixel_motion_splits_probability_bilinearly(spec):
    labels = np.zeros((8, 8), dtype=np.uint8)
    labels[:, 4:] = 13
    warped = warp_probabilities(spec.one_hot(labels), sampling_map(constant_flow(8, 8, 0.25, 0)))
    car = spec.ids.tolist().index(13)
    road = spec.ids.tolist().index(0)
    assert warped[3, 3, car] == pytest.approx(0.25)  # x=3 samples 3.25: a quarter of the car at x=4
    assert warped[3, 3, road] == pytest.approx(0.75)
    assert np.allclose(warped[:, :7].sum(axis=-1), 1.0)


def test_a_single_map_warps_like_one_channel_of_many(spec):
    rng = np.random.default_rng(3)
    probs = rng.random((12, 16, 5)).astype(np.float32)
    sampling = sampling_map(rng.normal(0, 2, (12, 16, 2)).astype(np.float32))
    warped = warp_probabilities(probs, sampling)
    assert warped.shape == probs.shape
    # OpenCV interpolates several channels on a 1/32-pixel grid and one channel exactly
    single = warp_probabilities(probs[..., 2].copy(), sampling)
    assert np.allclose(single, warped[..., 2], atol=1 / 32)
    assert warp_probabilities(probs[..., :1].copy(), sampling).shape == (12, 16, 1)


def test_motion_pointing_out_of_the_image_is_not_inside_and_not_trusted():
    image = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    sampling = sampling_map(constant_flow(16, 16, 5, 0))
    assert sampling.inside[:, :11].all() and not sampling.inside[:, 11:].any()
    trusted = trust_mask(image, image, sampling, tau=1e6)
    assert not trusted[:, 11:].any()


def test_trust_mask_thresholds_rgb_euclidean_distance():
    image = np.full((4, 4, 3), 100, dtype=np.uint8)
    source = image.copy()
    source[0, 0] = (103, 104, 100)  # distance 5
    source[1, 1] = (110, 100, 100)  # distance 10
    sampling = sampling_map(constant_flow(4, 4, 0, 0))
    trusted = trust_mask(image, source, sampling, tau=7.0)
    assert trusted[0, 0] and not trusted[1, 1]
    assert trusted.sum() == 15


def test_inpaint_takes_semantic_labels_where_untrusted():
    warped = np.zeros((2, 2, 3), dtype=np.float32)
    warped[..., 0] = 1
    semantic = np.zeros_like(warped)
    semantic[..., 2] = 1
    trust = np.array([[True, False], [False, True]])
    untrusted = pixels_of(~trust)
    assert untrusted.tolist() == [1, 2]
    blended = inpaint(warped, untrusted, semantic.reshape(-1, 3)[untrusted])
    assert blended is warped
    assert blended[0, 0].tolist() == [1, 0, 0]
    assert blended[0, 1].tolist() == [0, 0, 1]
    assert blended[1, 0].tolist() == [0, 0, 1]
    assert blended[1, 1].tolist() == [1, 0, 0]


def test_argmax_confidence_matches_numpy_and_marks_empty_pixels():
    probs = np.random.default_rng(1).random((30, 40, 19)).astype(np.float32)
    probs[0, 0] = 0
    channels, confidence = argmax_confidence(probs)
    expected = probs.argmax(axis=-1)
    expected[0, 0] = NO_CLASS
    assert (channels == expected).all()
    assert np.array_equal(confidence, probs.max(axis=-1))


def test_uncertain_masking():
    probs = np.array([[[0.95, 0.05], [0.5, 0.5]]], dtype=np.float32)
    masked = mask_uncertain(probs, 0.9)
    assert masked[0, 0].tolist() == pytest.approx([0.95, 0.05])
    assert masked[0, 1].tolist() == [0, 0]
