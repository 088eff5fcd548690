"""Camera-look options: the default look is unchanged to the bit; each option changes the image only."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest

from warp_refine_ros.synth import DriveConfig, SynthError, iter_drive, render_drive
from warp_refine_ros.synth.grade import LUMA, colour_matrix

TINY = DriveConfig(width=96, height=64, frames=2, seed=7)

# sha256 of the images and of the labels of every frame, concatenated, computed before the look
# options existed: the shipped models were trained on these drives, so they must never change.
DEFAULT_HASHES = [
    (
        DriveConfig(width=160, height=120, frames=3, seed=7),
        "e5b0aec57ec3e6cfd401e92343289d606dc2537ec4dbd09282c9f92f0e690231",
        "6a394afccf6a7c534038caa3d6b4a942fe71d7e001e1c0b664f0e233dab53e48",
    ),
    (
        DriveConfig(width=96, height=64, frames=40, seed=7, fps=15.0, speed_mps=20.0),
        "5231f50341db5ccabdc299a7309cfd76a9cc256e35d7345ca453e9c041cf25d5",
        "170d660c2593f6739396110835a14c6b1c7349769029a21211ab0f4afd34f179",
    ),
]


@pytest.mark.parametrize(("config", "image_hash", "label_hash"), DEFAULT_HASHES)
def test_the_default_look_is_unchanged(config: DriveConfig, image_hash: str, label_hash: str) -> None:
    images, labels = hashlib.sha256(), hashlib.sha256()
    for frame in iter_drive(config):
        images.update(frame.image.tobytes())
        labels.update(frame.labels.tobytes())
    assert (images.hexdigest(), labels.hexdigest()) == (image_hash, label_hash)


@pytest.fixture(scope="module")
def plain():
    return render_drive(TINY).frames[-1]


@pytest.mark.parametrize(
    "change",
    [
        {"exposure": 0.5},
        {"gamma": 1.8},
        {"hue_deg": 25.0},
        {"saturation": 0.3},
        {"white_balance": (1.2, 1.0, 0.8)},
        {"defocus_px": 2.5},
        {"shutter": 0.8, "speed_mps": 20.0},
        {"chroma_noise": 6.0},
        {"row_noise": 4.0},
        {"noise_sigma": 8.0},
        {"illumination": 0.4},
    ],
    ids=lambda change: ",".join(change),
)
def test_a_look_option_changes_the_image_not_the_labels(plain, change: dict) -> None:
    if "speed_mps" in change:  # a faster drive is another drive: compare with it unblurred
        plain = render_drive(replace(TINY, speed_mps=change["speed_mps"])).frames[-1]
    looked = render_drive(replace(TINY, **change)).frames[-1]
    np.testing.assert_array_equal(looked.labels, plain.labels)
    assert np.abs(looked.image.astype(int) - plain.image.astype(int)).mean() > 1.5


def test_colour_matrix() -> None:
    assert (colour_matrix(DriveConfig()) == np.eye(3)).all(), "exactly the identity at the defaults"
    grey = np.array([100.0, 100.0, 100.0])
    np.testing.assert_allclose(colour_matrix(DriveConfig(hue_deg=70.0)) @ grey, grey)
    red = np.array([200.0, 40.0, 40.0])
    washed = colour_matrix(DriveConfig(saturation=0.0)) @ red
    np.testing.assert_allclose(washed, np.full(3, LUMA @ red))
    rotated = colour_matrix(DriveConfig(hue_deg=120.0)) @ red
    np.testing.assert_allclose(rotated, [40.0, 200.0, 40.0], atol=1e-9)  # a third of the way round
    np.testing.assert_allclose(colour_matrix(DriveConfig(white_balance=(2.0, 1.0, 0.5))) @ red, [400, 40, 20])


def test_exposure_and_gamma_move_brightness_the_expected_way(plain) -> None:
    def brightness(**change: float) -> float:
        return float(render_drive(replace(TINY, **change)).frames[-1].image.mean())

    level = float(plain.image.mean())
    assert brightness(exposure=0.5) == pytest.approx(0.5 * level, rel=0.05), "half the light"
    assert brightness(gamma=0.6) < 0.8 * level < 1.2 * level < brightness(gamma=2.0)


def test_blur_and_noise_options_do_what_they_say(plain) -> None:
    def detail(image: np.ndarray) -> float:
        return float(np.abs(np.diff(image.astype(int), axis=1)).mean())

    assert detail(render_drive(replace(TINY, defocus_px=2.5)).frames[-1].image) < 0.7 * detail(plain.image)
    banded = render_drive(replace(TINY, noise_sigma=0.0, row_noise=6.0)).frames[-1].image.astype(int)
    clean = render_drive(replace(TINY, noise_sigma=0.0)).frames[-1].image.astype(int)
    rows = (banded - clean).mean(axis=(1, 2))
    assert rows.std() > 3, "whole rows move together"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("exposure", 0.0),
        ("gamma", 0.0),
        ("hue_deg", 200.0),
        ("saturation", -1.0),
        ("white_balance", (1.0, 1.0)),
        ("defocus_px", -1.0),
        ("shutter", 1.5),
        ("chroma_noise", -1.0),
        ("row_noise", -1.0),
    ],
)
def test_bad_look_options_are_refused(field: str, value: object) -> None:
    with pytest.raises(SynthError, match=field):
        DriveConfig(**{field: value})
