"""Fixed-size training crops of any camera image, and g's features resampled to stay registered.

A crop window has exactly the requested size whatever the image size: it starts at a random
offset, and where the image is smaller it runs past the bottom or right edge, which is padded.

g's features (D, h, w) reach the refiner for the whole image and it resizes them bilinearly with
``align_corners=False``, which treats them as h x w equal cells covering the H x W image, whether or
not H / h is a whole number (480x360 at input_scale 0.5 gives 23 rows for 22.5 cells of 8 g-pixels).
So the features are a field over image coordinates, F(y, x) = bilinear sample at feature position
(y h / H - 0.5, x w / W - 0.5), clamped at the borders, and :func:`crop_features` samples that field
at the cell centres of a grid over the window: what inference would give for those pixels.
"""

from __future__ import annotations

import numpy as np

Size = tuple[int, int]  # (H, W)


def crop_origin(rng: np.random.Generator, size: Size, crop: Size) -> Size:
    """A random top-left corner (y, x) of a ``crop`` window in an image of ``size``; 0 on an axis
    where the image is smaller than the crop (the window then runs past its end)."""
    return tuple(int(rng.integers(0, max(n - c, 0) + 1)) for n, c in zip(size, crop, strict=True))


def crop_array(array: np.ndarray, origin: Size, crop: Size, *, fill: int | None = None) -> np.ndarray:
    """The ``crop`` window at ``origin`` of an (H, W, ...) array, padded at the bottom and right where
    it runs past the array: with ``fill``, or by repeating the edge pixels when ``fill`` is None."""
    (y, x), (height, width) = origin, crop
    window = array[y : y + height, x : x + width]
    pad = [(0, height - window.shape[0]), (0, width - window.shape[1])] + [(0, 0)] * (array.ndim - 2)
    if not any(after for _, after in pad):
        return window
    if fill is None:
        return np.pad(window, pad, mode="edge")
    return np.pad(window, pad, mode="constant", constant_values=fill)


def crop_features(features: np.ndarray, size: Size, origin: Size, crop: Size, grid: Size) -> np.ndarray:
    """(D, gh, gw) float32: the feature field F of an image of ``size`` at the centres of a ``grid``
    of equal cells covering the ``crop`` window at ``origin`` (beyond the image, F's edge values)."""
    rows = _interpolation(features.shape[1], size[0], origin[0], crop[0], grid[0])  # (gh, h)
    cols = _interpolation(features.shape[2], size[1], origin[1], crop[1], grid[1])  # (gw, w)
    return np.einsum("ij,djk,lk->dil", rows, features, cols, optimize=True).astype(np.float32)


def _interpolation(cells: int, length: int, start: int, extent: int, count: int) -> np.ndarray:
    """(count, cells) linear-interpolation weights of F along one axis at the grid's cell centres.

    Centre i lies at image coordinate ``start + (i + 0.5) extent / count`` (pixel k spans [k, k + 1));
    its feature position is ``u = coordinate * cells / length - 0.5``, clamped to [0, cells - 1] as
    PyTorch's and OpenCV's bilinear resizes clamp it."""
    centres = start + (np.arange(count) + 0.5) * extent / count
    position = np.clip(centres * cells / length - 0.5, 0.0, cells - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, cells - 1)
    fraction = position - low
    weights = np.zeros((count, cells), dtype=np.float64)
    np.add.at(weights, (np.arange(count), low), 1.0 - fraction)
    np.add.at(weights, (np.arange(count), high), fraction)
    return weights
