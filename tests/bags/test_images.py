"""Decoding sensor_msgs/Image and CompressedImage fields to RGB, and label images to ids."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from warp_refine_ros.bags.images import decode_compressed, decode_image, decode_label, header_stamp_ns
from warp_refine_ros.errors import BagError

RGB = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)


def message(pixels: np.ndarray, encoding: str, *, pad: int = 0, bigendian: int = 0) -> SimpleNamespace:
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1).view(np.uint8)
    if pad:
        rows = np.concatenate([rows, np.zeros((height, pad), np.uint8)], axis=1)
    return SimpleNamespace(
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=bigendian,
        step=rows.shape[1],
        data=rows.ravel(),
    )


@pytest.mark.parametrize(
    ("encoding", "pixels"),
    [
        ("rgb8", RGB),
        ("bgr8", RGB[..., ::-1].copy()),
        ("rgba8", np.dstack([RGB, np.full(RGB.shape[:2], 9, np.uint8)])),
        ("bgra8", np.dstack([RGB[..., ::-1], np.full(RGB.shape[:2], 9, np.uint8)])),
    ],
)
def test_colour_encodings_decode_to_the_same_rgb(encoding, pixels):
    assert np.array_equal(decode_image(message(pixels, encoding)), RGB)
    assert np.array_equal(decode_image(message(pixels, encoding, pad=5)), RGB)  # row padding in step


def test_mono_and_bayer_encodings():
    grey = RGB[..., 0].copy()
    assert np.array_equal(decode_image(message(grey, "mono8")), np.dstack([grey] * 3))
    wide = (grey.astype(np.uint16) << 8) | 7
    big = decode_image(message(wide.byteswap(), "mono16", bigendian=1))
    assert np.array_equal(big[..., 0], grey)
    assert np.array_equal(decode_image(message(wide, "mono16"))[..., 0], grey)
    bayer = decode_image(message(grey, "bayer_rggb8"))
    assert bayer.shape == RGB.shape and bayer.dtype == np.uint8


def test_unsupported_encoding_and_short_data_name_the_topic():
    with pytest.raises(BagError, match=r"/cam: unsupported image encoding '32FC1'.*rgb8"):
        decode_image(message(RGB, "32FC1"), "/cam")
    short = message(RGB, "rgb8")
    short.data = short.data[:-10]
    with pytest.raises(BagError, match="/cam: rgb8 image of 8x6 needs 24 bytes a row"):
        decode_image(short, "/cam")


def test_compressed_jpeg_and_png():
    _, png = cv2.imencode(".png", cv2.cvtColor(RGB, cv2.COLOR_RGB2BGR))
    assert np.array_equal(decode_compressed(SimpleNamespace(format="png", data=png.ravel())), RGB)
    smooth = cv2.resize(RGB, (64, 48), interpolation=cv2.INTER_LINEAR)
    _, jpeg = cv2.imencode(".jpg", cv2.cvtColor(smooth, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 100])
    decoded = decode_compressed(SimpleNamespace(format="rgb8; jpeg compressed bgr8", data=jpeg.ravel()))
    assert np.abs(decoded.astype(int) - smooth).mean() < 3  # lossy, but colours in RGB order
    with pytest.raises(BagError, match="/cam: cannot decode compressed image with format 'jpeg'"):
        decode_compressed(SimpleNamespace(format="jpeg", data=np.arange(10, dtype=np.uint8)), "/cam")


def test_labels_mono8_mono16_and_rejections():
    ids = np.array([[0, 13, 255]], np.uint8)
    assert np.array_equal(decode_label(message(ids, "mono8")), ids)
    assert np.array_equal(decode_label(message(ids.astype(np.uint16), "mono16")), ids)
    with pytest.raises(BagError, match="holds id 300"):
        decode_label(message(np.array([[300]], np.uint16), "mono16"), "/labels")
    with pytest.raises(BagError, match="must be mono8 or mono16"):
        decode_label(message(RGB, "rgb8"), "/labels")


def test_header_stamp_in_nanoseconds():
    msg = SimpleNamespace(header=SimpleNamespace(stamp=SimpleNamespace(sec=12, nanosec=345)))
    assert header_stamp_ns(msg) == 12_000_000_345
