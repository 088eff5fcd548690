"""Shared engine pre- and post-processing: normalisation, resizing, input checks, devices."""

from __future__ import annotations

import numpy as np
import pytest

from warp_refine_ros.engines.devices import parse_device
from warp_refine_ros.engines.preprocess import (
    channels_last,
    check_image,
    image_tensor,
    one_hot_planes,
    resize_planes,
    scaled_size,
    shrink_labels,
    working_size,
)
from warp_refine_ros.errors import EngineError
from warp_refine_ros.modelspec import IMAGENET, PIXELS, Normalization
from warp_refine_ros.propagation.probabilities import NO_CLASS


def test_image_tensor_is_the_normalisation_formula() -> None:
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    batch = image_tensor(image, IMAGENET)
    expected = (image / 255.0 - np.array(IMAGENET.mean)) / np.array(IMAGENET.std)
    assert batch.shape == (1, 3, 5, 7) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0].transpose(1, 2, 0), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(image_tensor(image, PIXELS)[0].transpose(1, 2, 0), image)


def test_image_tensor_resizes_to_the_network_size() -> None:
    image = np.full((480, 640, 3), 200, dtype=np.uint8)
    batch = image_tensor(image, PIXELS, size=scaled_size(480, 640, 0.5))
    assert batch.shape == (1, 3, 240, 320)
    np.testing.assert_allclose(batch, 200.0)
    assert scaled_size(3, 5, 0.1) == (1, 1)


def test_resize_planes_keeps_probabilities_normalised() -> None:
    rng = np.random.default_rng(1)
    probabilities = rng.random((4, 6, 8)).astype(np.float32)
    probabilities /= probabilities.sum(axis=0)
    full = resize_planes(probabilities, 48, 64)
    assert full.shape == (4, 48, 64) and full.dtype == np.float32
    np.testing.assert_allclose(full.sum(axis=0), 1.0, atol=1e-5)
    assert resize_planes(full, 48, 64) is full  # already the right size: no copy


def test_one_hot_planes_and_channels_last() -> None:
    channels = np.array([[0, 2, 1], [NO_CLASS, 1, 0]], dtype=np.uint8)
    planes = one_hot_planes(channels, 3)
    assert planes.shape == (3, 2, 3) and planes.dtype == np.float32
    np.testing.assert_array_equal(planes.argmax(axis=0)[0], channels[0])
    assert planes[:, 1, 0].tolist() == [0, 0, 0]  # no class: all zeros
    np.testing.assert_array_equal(channels_last(planes), planes.transpose(1, 2, 0))
    assert channels_last(planes).flags.c_contiguous


def test_the_refiners_working_size_keeps_the_aspect_under_max_pixels() -> None:
    assert working_size(480, 640, 360_000) == (480, 640)  # small cameras: as they are
    assert working_size(1080, 1920, 230_400) == (360, 640)
    height, width = working_size(1080, 1920, 360_000)
    assert height * width <= 360_000 and abs(width / height - 16 / 9) < 0.01


def test_shrunk_labels_take_the_value_at_each_pixels_centre() -> None:
    """Shrunk by 3, pixel (i, j) covers source pixels 3i..3i+2 and takes the value of 3i+1, 3j+1, as the
    image's area average is centred there: labels stay registered with the shrunk image."""
    ids = np.arange(36, dtype=np.uint8).reshape(6, 6)
    np.testing.assert_array_equal(shrink_labels(ids, (2, 2)), ids[1::3, 1::3])
    assert shrink_labels(ids, (6, 6)) is ids


@pytest.mark.parametrize(
    "image",
    [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 4), np.uint8), [1, 2]],
)
def test_check_image_rejects_other_arrays(image: object) -> None:
    with pytest.raises(EngineError, match=r"frame: expected an \(H, W, 3\) uint8 RGB image"):
        check_image(image, name="frame")


def test_normalization_round_trip_and_errors() -> None:
    assert Normalization.from_dict(IMAGENET.to_dict(), source="x") == IMAGENET
    with pytest.raises(EngineError, match=r"model.onnx: normalisation"):
        Normalization.from_dict({"mean": [0.5]}, source="model.onnx")
    with pytest.raises(EngineError, match=r"positive stds"):
        Normalization((0, 0, 0), (1, 0, 1))


def test_parse_device() -> None:
    assert parse_device("cpu") == ("cpu", 0)
    assert parse_device("cuda") == ("cuda", 0)
    assert parse_device("cuda:1") == ("cuda", 1)
    for bad in ("gpu", "cuda:x", "cpu:0"):
        with pytest.raises(EngineError, match=r"use cpu, cuda or cuda:N"):
            parse_device(bad)
