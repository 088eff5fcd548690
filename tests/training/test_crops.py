"""Training crops: exact sizes at any camera size, and g's features registered with the crop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from warp_refine_ros.networks.blocks import resize_to
from warp_refine_ros.training.crops import crop_array, crop_features, crop_origin

# (H, W) of camera images and (h, w) of g's features for them at input_scale 0.5 (ceil of 1/16).
CAMERAS = [
    ((360, 480), (23, 30)),  # 22.5 feature rows
    ((242, 482), (16, 31)),  # odd g input, 121 x 241
    ((1080, 1920), (68, 120)),
    ((640, 360), (40, 23)),  # portrait
    ((14, 20), (1, 2)),  # smaller than any crop
]


def field_at(features: np.ndarray, size: tuple[int, int], ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The feature field at image coordinates (ys, xs), by grid_sample: features cover the image,
    bilinear between cell centres, edge values beyond them."""
    grid_y, grid_x = np.meshgrid(2 * ys / size[0] - 1, 2 * xs / size[1] - 1, indexing="ij")
    grid = torch.from_numpy(np.stack([grid_x, grid_y], axis=-1)[None])  # float64: an exact reference
    sampled = F.grid_sample(
        torch.from_numpy(features.astype(np.float64))[None],
        grid,
        mode="bilinear",
        padding_mode="border",
        align_corners=False,
    )
    return sampled[0].numpy()


@pytest.mark.parametrize(("size", "feature_size"), CAMERAS)
def test_crop_features_are_the_feature_field_at_the_cell_centres(size, feature_size) -> None:
    rng = np.random.default_rng(0)
    features = rng.standard_normal((5, *feature_size)).astype(np.float32)
    crop, grid = (256, 320), (16, 20)
    for _ in range(3):
        origin = crop_origin(rng, size, crop)
        found = crop_features(features, size, origin, crop, grid)
        ys = origin[0] + (np.arange(grid[0]) + 0.5) * crop[0] / grid[0]
        xs = origin[1] + (np.arange(grid[1]) + 0.5) * crop[1] / grid[1]
        assert found.shape == (5, *grid) and found.dtype == np.float32
        np.testing.assert_allclose(found, field_at(features, size, ys, xs), atol=1e-5)


@pytest.mark.parametrize(("size", "feature_size"), CAMERAS[:4])
def test_the_refiner_sees_the_crop_features_where_inference_puts_them(size, feature_size) -> None:
    """Features that hold their own (row, column) position: the refiner's resize of a crop's features
    must give every pixel of the crop the position inference gives it from the whole frame's features.
    Bilinear resizes reproduce linear fields, so this is exact away from clamped borders."""
    rows, cols = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in feature_size), indexing="ij")
    features = np.stack([rows, cols])
    inference = resize_to(torch.from_numpy(features)[None], torch.empty(*size))[0].numpy()  # (2, H, W)
    crop, stride = (256, 320), 16
    grid = (crop[0] // stride, crop[1] // stride)
    rng = np.random.default_rng(1)
    for _ in range(4):
        (y, x) = crop_origin(rng, size, crop)
        cropped = crop_features(features, size, (y, x), crop, grid)
        seen = resize_to(torch.from_numpy(cropped)[None], torch.empty(*crop))[0].numpy()  # (2, h, w)
        expected = inference[:, y : y + crop[0], x : x + crop[1]]
        margin = [stride + -(-n // f) for n, f in zip(size, feature_size, strict=True)]  # from any clamp
        inner = np.s_[
            :,
            max(stride, margin[0] - y) : min(crop[0] - stride, size[0] - margin[0] - y),
            max(stride, margin[1] - x) : min(crop[1] - stride, size[1] - margin[1] - x),
        ]
        assert seen[inner].size > 0.1 * seen.size
        np.testing.assert_allclose(seen[inner], expected[inner], atol=1e-4)


def test_crop_origin_is_inside_the_image_or_zero_where_it_is_smaller() -> None:
    rng = np.random.default_rng(2)
    origins = {crop_origin(rng, (242, 482), (256, 320)) for _ in range(100)}
    assert {y for y, _ in origins} == {0}  # 242 rows: the window starts at the top and runs past
    assert len(origins) > 50 and {x for _, x in origins} <= set(range(482 - 320 + 1))


def test_crop_array_has_the_crop_size_padding_past_the_edges() -> None:
    image = np.arange(14 * 20 * 3, dtype=np.uint8).reshape(14, 20, 3)
    labels = np.arange(14 * 20, dtype=np.uint8).reshape(14, 20)
    padded = crop_array(image, (0, 4), (24, 32))
    assert padded.shape == (24, 32, 3)
    np.testing.assert_array_equal(padded[:14, :16], image[:, 4:])
    np.testing.assert_array_equal(padded[14:, :16], np.broadcast_to(image[13, 4:], (10, 16, 3)))
    np.testing.assert_array_equal(padded[:14, 16:], np.broadcast_to(image[:, 19:], (14, 16, 3)))
    ignored = crop_array(labels, (0, 4), (24, 32), fill=255)
    assert ignored.shape == (24, 32) and (ignored[14:] == 255).all() and (ignored[:, 16:] == 255).all()
    np.testing.assert_array_equal(ignored[:14, :16], labels[:, 4:])
    inside = crop_array(labels, (3, 5), (8, 10))
    assert np.shares_memory(inside, labels) and inside.shape == (8, 10)
