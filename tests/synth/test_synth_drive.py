"""Synthetic drives: exact labels, determinism by seed, real motion between frames, a whole street."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from warp_refine_ros.engines.dis import DisMotion
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.warp import sampling_map
from warp_refine_ros.synth import DriveConfig, SynthError, SynthFrame, iter_drive, render_drive
from warp_refine_ros.synth.classes import Class
from warp_refine_ros.synth.drive import Scene

SMALL = DriveConfig(width=160, height=120, frames=6, seed=11)


@pytest.fixture(scope="module")
def drive():
    """A short drive at a size optical flow works well on."""
    return render_drive(DriveConfig(width=320, height=240, frames=12, seed=4))


def test_classes_match_the_shipped_spec(spec: LabelSpec) -> None:
    assert [c.name for c in spec.classes] == [c.spec_name for c in Class]
    assert [c.id for c in spec.classes] == [int(c) for c in Class]


def test_frames_are_images_with_valid_labels(drive, spec: LabelSpec) -> None:
    config = drive.config
    assert [f.index for f in drive.frames] == list(range(config.frames))
    assert [f.stamp_ns for f in drive.frames] == [
        1_700_000_000_000_000_000 + i * 100_000_000 for i in range(config.frames)
    ]
    for frame in drive.frames:
        assert frame.image.shape == (240, 320, 3) and frame.image.dtype == np.uint8
        spec.validate(frame.labels, shape=frame.image.shape, name=f"frame {frame.index}")
        assert spec.ignore_id not in frame.labels  # every pixel has a class


def test_street_geometry_in_every_frame(drive) -> None:
    for frame in drive.frames:
        bottom = frame.labels[-3:, 140:180]
        assert np.all(bottom == Class.ROAD), "the lane ahead of the bumper is road"
        top = frame.labels[:10]
        assert np.isin(top, [Class.SKY, Class.BUILDING, Class.VEGETATION, Class.POLE]).mean() > 0.95


def test_same_seed_same_drive() -> None:
    first, second = render_drive(SMALL), render_drive(SMALL)
    for a, b in zip(first.frames, second.frames, strict=True):
        assert a.stamp_ns == b.stamp_ns
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.labels, b.labels)


def test_a_shorter_drive_is_the_start_of_a_longer_one() -> None:
    short = render_drive(DriveConfig(width=160, height=120, frames=3, seed=11))
    long = itertools.islice(iter_drive(DriveConfig(width=160, height=120, frames=400, seed=11)), 3)
    for a, b in zip(short.frames, long, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.labels, b.labels)


def test_different_seeds_give_different_drives() -> None:
    a = render_drive(SMALL).frames[-1]
    b = render_drive(DriveConfig(width=160, height=120, frames=6, seed=12)).frames[-1]
    assert (a.labels == b.labels).mean() < 0.85, "a different street, not just different noise"
    assert np.abs(a.image.astype(int) - b.image.astype(int)).mean() > 15


def test_iter_drive_streams_frames() -> None:
    frames = iter_drive(SMALL)
    assert isinstance(frames, Iterator)
    first = next(frames)
    assert isinstance(first, SynthFrame) and first.index == 0
    assert [f.index for f in frames] == list(range(1, SMALL.frames))


def test_consecutive_frames_are_related_by_motion(drive) -> None:
    """DIS flow + backward warp of frame t's labels reproduces frame t+1 where the flow is consistent.

    Pixels whose forward-backward flow disagrees (disocclusions, the image border, flow failures) are
    left out, as a propagation method would distrust them too.
    """
    motion = DisMotion("fast")
    for source, target in zip(drive.frames[:-1], drive.frames[1:], strict=True):
        backward = motion.flow(target.image, source.image)
        forward = motion.flow(source.image, target.image)
        sampling = sampling_map(backward)
        warped = cv2.remap(source.labels, sampling.map_x, sampling.map_y, cv2.INTER_NEAREST)
        round_trip = cv2.remap(forward, sampling.map_x, sampling.map_y, cv2.INTER_LINEAR) + backward
        speed = np.linalg.norm(backward, axis=-1)
        consistent = sampling.inside & (np.linalg.norm(round_trip, axis=-1) < 1.0 + 0.05 * speed)
        assert consistent.mean() > 0.5, "the flow should be trustworthy over most of the frame"
        agreement = (warped == target.labels)[consistent].mean()
        assert agreement > 0.9, f"frames {source.index}->{target.index}: {agreement:.3f}"
        assert np.median(speed) > 0.3, "the camera moves"


def test_default_drive_shows_a_street() -> None:
    """Over the default drive (sampled every 10 frames, rendered small) the main classes all appear."""
    scene = Scene(DriveConfig(width=320, height=240))
    seen = np.zeros(256, int)
    for index in range(0, scene.config.frames, 10):
        seen += np.bincount(scene.render(index).labels.ravel(), minlength=256)
    required = [Class.ROAD, Class.SIDEWALK, Class.BUILDING, Class.POLE, Class.VEGETATION, Class.SKY]
    required += [Class.PERSON, Class.CAR]
    missing = [c.name for c in required if seen[c] == 0]
    assert not missing, f"default drive lacks {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_every_drive_shows_a_street(seed: int) -> None:
    scene = Scene(DriveConfig(width=320, height=240, seed=seed))
    seen = np.zeros(256, int)
    for index in range(0, scene.config.frames, 10):
        seen += np.bincount(scene.render(index).labels.ravel(), minlength=256)
    required = [
        Class.ROAD,
        Class.SIDEWALK,
        Class.BUILDING,
        Class.POLE,
        Class.VEGETATION,
        Class.SKY,
        Class.CAR,
    ]
    assert not [c.name for c in required if seen[c] == 0]
    assert seen[Class.PERSON] > 0


def test_illumination_drifts_but_labels_do_not_care() -> None:
    base = DriveConfig(width=160, height=120, frames=1, seed=3, noise_sigma=0.0, illumination=0.0)
    lit = DriveConfig(width=160, height=120, frames=1, seed=3, noise_sigma=0.0, illumination=0.3)
    flat, bright = render_drive(base).frames[0], render_drive(lit).frames[0]
    np.testing.assert_array_equal(flat.labels, bright.labels)
    scene = Scene(DriveConfig(width=160, height=120, frames=300, seed=3))
    gains = np.array([scene.sensor.gains(t) for t in np.linspace(0, 30, 61)])
    assert gains.max() / gains.min() > 1.1, "exposure changes over a 30 s drive"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("width", 8),
        ("frames", 0),
        ("fps", 0.0),
        ("speed_mps", -1.0),
        ("hfov_deg", 179.0),
        ("illumination", 0.9),
    ],
)
def test_bad_configs_are_refused(field: str, value: float) -> None:
    with pytest.raises(SynthError, match=field):
        DriveConfig(**{field: value})
