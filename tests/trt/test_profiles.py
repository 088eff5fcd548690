"""Optimisation profiles and parity samples: the shapes the engines will really be fed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from warp_refine_ros.errors import EngineError
from warp_refine_ros.modelspec import read_onnx_metadata
from warp_refine_ros.trt.profiles import CameraSizes, format_size, input_profile, input_shapes, parse_size
from warp_refine_ros.trt.samples import SHIFT, sample_feeds, sample_frames

SIZES = CameraSizes(min=(48, 64), opt=(121, 203), max=(240, 320))  # (H, W); odd sizes on purpose


def run(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_sizes_are_width_by_height() -> None:
    assert parse_size("1920x1080") == (1080, 1920) and format_size((1080, 1920)) == "1920x1080"
    for text in ("1920", "1920x", "x1080", "0x10", "1920*1080", "-5x4"):
        with pytest.raises(ValueError, match="is not WIDTHxHEIGHT"):
            parse_size(text)
    with pytest.raises(EngineError, match="min <= opt <= max"):
        CameraSizes(min=(480, 640), opt=(240, 320), max=(1080, 1920))
    assert SIZES.clamp((1000, 10)) == (240, 64)


def test_segmentation_profile_is_the_scaled_camera_image(network_files) -> None:
    metadata = read_onnx_metadata(network_files["segmentation.onnx"])
    assert metadata.input_scale == 0.5
    assert input_profile(metadata, SIZES) == {"image": ((1, 3, 24, 32), (1, 3, 60, 102), (1, 3, 120, 160))}


def test_refiner_profile_takes_what_segmentation_outputs_over_one_to_all_classes(network_files) -> None:
    segmentation = read_onnx_metadata(network_files["segmentation.onnx"])
    refiner = read_onnx_metadata(network_files["refiner.onnx"])
    profile = input_profile(refiner, SIZES, segmentation_scale=segmentation.input_scale)
    assert profile["labels"] == ((1, 1, 48, 64), (1, 19, 121, 203), (1, 19, 240, 320))
    assert profile["image"] == ((1, 3, 48, 64), (1, 3, 121, 203), (1, 3, 240, 320))
    image_shapes = input_profile(segmentation, SIZES)["image"]
    for image_shape, expected in zip(image_shapes, profile["segmentation"], strict=True):
        probabilities, _ = run(
            network_files["segmentation.onnx"], {"image": np.zeros(image_shape, np.float32)}
        )
        assert probabilities.shape[2:] == expected[2:]
    unknown = input_profile(refiner, SIZES)["segmentation"]  # without the segmentation network's scale
    assert unknown[0] == (1, 1, 1, 1) and unknown[2] == (1, 19, 60, 80)


def test_a_large_camera_is_profiled_at_the_refiners_working_size(network_files) -> None:
    refiner = read_onnx_metadata(network_files["refiner.onnx"])
    sizes = CameraSizes(min=(48, 64), opt=(480, 640), max=(1080, 1920))
    high = input_profile(refiner, sizes)["labels"][2]
    assert high[2] * high[3] <= refiner.config["max_pixels"] and abs(high[3] / high[2] - 1920 / 1080) < 0.01


def test_motion_profile_pads_to_the_networks_multiple(tiny_raft_onnx) -> None:
    metadata = read_onnx_metadata(tiny_raft_onnx)
    profile = input_profile(metadata, SIZES)
    assert profile["image"] == profile["reference"] == ((1, 3, 48, 64), (1, 3, 128, 208), (1, 3, 240, 320))


@pytest.mark.parametrize("role", ["segmentation", "refiner"])
def test_samples_run_through_the_network_at_every_profile_size(network_files, role: str) -> None:
    segmentation_scale = read_onnx_metadata(network_files["segmentation.onnx"]).input_scale
    metadata = read_onnx_metadata(network_files[f"{role}.onnx"])
    profile = input_profile(metadata, SIZES, segmentation_scale=segmentation_scale)
    for size in (SIZES.min, SIZES.opt, SIZES.max):
        feeds = sample_feeds(metadata, size, segmentation_scale=segmentation_scale)
        assert {name: feed.shape for name, feed in feeds.items()} == input_shapes(
            metadata, size, segmentation_scale=segmentation_scale
        )
        for name, feed in feeds.items():
            low, _, high = profile[name]
            assert all(a <= b <= c for a, b, c in zip(low, feed.shape, high, strict=True))
        assert all(feed.dtype == np.float32 for feed in feeds.values())
        probabilities = run(network_files[f"{role}.onnx"], feeds)[0]
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    labels = sample_feeds(metadata, SIZES.opt, segmentation_scale=segmentation_scale).get("labels")
    if labels is not None:  # one-hot, several classes present
        assert set(np.unique(labels.sum(axis=1))) == {1.0} and len(np.unique(labels.argmax(axis=1))) > 5


def test_motion_samples_are_a_shifted_pair(tiny_raft_onnx) -> None:
    image, reference, _ = sample_frames((50, 70))
    dy, dx = SHIFT
    np.testing.assert_array_equal(
        image[: 50 - dy, : 70 - dx], reference[dy:, dx:]
    )  # image(x) = reference(x + s)
    feeds = sample_feeds(read_onnx_metadata(tiny_raft_onnx), (50, 70))
    assert feeds["image"].shape == feeds["reference"].shape == (1, 3, 56, 72)
    assert feeds["image"].min() >= -1.0 and feeds["image"].max() <= 1.0  # RAFT's [-1, 1] normalisation
    assert run(tiny_raft_onnx, feeds)[0].shape == (1, 2, 56, 72)
