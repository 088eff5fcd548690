"""Augmentation for g: labels stay on the image they label, and crops have one size at any camera size."""

from __future__ import annotations

import numpy as np
import pytest

from warp_refine_ros.training.augment import Augmentation

SCALES = [0.375, 0.5, 0.61, 0.75, 1.3]  # input_scale 0.5 times the default random factors, and up


@pytest.mark.parametrize("scale", SCALES)
def test_resized_labels_are_the_source_pixel_at_each_pixel_centre(scale: float) -> None:
    """Pixel i of the output is centred at (i + 0.5) / s in the source; its label must be the source
    label there, as the image is resampled around that centre."""
    height, width = 61, 101  # odd, as a 482x242 camera at input_scale 0.5
    ys, xs = np.mgrid[:height, :width]
    labels = (ys * 7 + xs).astype(np.uint8)  # every pixel's own position (mod 256)
    image = np.zeros((height, width, 3), dtype=np.uint8)
    _, resized = Augmentation().resize(image, labels, scale)
    rows = np.minimum(
        ((np.arange(resized.shape[0]) + 0.5) * height / resized.shape[0]).astype(int), height - 1
    )
    cols = np.minimum(((np.arange(resized.shape[1]) + 0.5) * width / resized.shape[1]).astype(int), width - 1)
    np.testing.assert_array_equal(resized, labels[np.ix_(rows, cols)])


@pytest.mark.parametrize("size", [(360, 480), (242, 482), (1080, 1920), (640, 360), (14, 20)])
def test_every_camera_size_gives_the_crop_size(size: tuple[int, int]) -> None:
    augmentation = Augmentation(crop=(192, 256), color=0.0)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    labels = rng.integers(0, 19, size).astype(np.uint8)
    for _ in range(3):
        cropped_image, cropped_labels = augmentation(image, labels, rng)
        assert cropped_image.shape == (192, 256, 3) and cropped_labels.shape == (192, 256)
        padding = cropped_labels == 255
        assert (cropped_image[padding] == 0).all()  # padded pixels are black and ignored
