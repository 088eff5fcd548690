"""Stops at lights: the camera stands still while the traffic goes on; the clock is continuous."""

from __future__ import annotations

import numpy as np
import pytest

from warp_refine_ros.synth import DriveConfig, SynthError
from warp_refine_ros.synth.drive import Scene
from warp_refine_ros.synth.stops import RAMP_S, drive_time

STOPS = ((4.0, 5.0), (13.0, 3.0))


def test_drive_time_runs_stands_and_runs_again() -> None:
    assert drive_time(3.7, ()) == 3.7
    clock = np.linspace(0.0, 20.0, 2001)
    drive = np.array([drive_time(float(t), STOPS) for t in clock])
    speed = np.diff(drive) / np.diff(clock)
    assert drive[0] == 0.0
    assert (speed > -1e-9).all() and (speed < 1 + 1e-9).all(), "never backwards, never faster"
    assert np.abs(np.diff(speed)).max() < 0.01, "smooth: no jump in speed"
    standing = (clock >= 4.0) & (clock <= 9.0)
    assert np.ptp(drive[standing]) < 1e-9
    lost = sum(seconds + RAMP_S for _, seconds in STOPS)  # each ramp costs half its length, twice
    assert drive[-1] == pytest.approx(20.0 - lost)


def test_the_camera_stands_still_while_the_traffic_moves() -> None:
    scene = Scene(DriveConfig(width=96, height=64, frames=200, seed=5, stops=STOPS))
    first, later = scene.ego.pose(5.0), scene.ego.pose(8.5)
    np.testing.assert_array_equal(first.position, later.position)
    np.testing.assert_array_equal(first.rotation, later.rotation)
    assert scene.ego.forward(3.0) < scene.ego.forward(4.0) == scene.ego.forward(9.0) < scene.ego.forward(10.0)
    movers = [m for m in scene.world.movers if m.z(5.0) is not None and m.z(8.5) is not None]
    assert any(m.z(5.0) != m.z(8.5) for m in movers), "the traffic does not wait with us"


def test_without_stops_the_drive_is_unchanged() -> None:
    plain = Scene(DriveConfig(width=96, height=64, frames=50, seed=5))
    later = Scene(DriveConfig(width=96, height=64, frames=50, seed=5, stops=((30.0, 2.0),)))
    for t in (0.0, 1.3, 4.9):  # long before the stop's braking begins
        assert plain.ego.forward(t) == later.ego.forward(t)


@pytest.mark.parametrize(
    "stops",
    [((4.0, 0.0),), ((-1.0, 2.0),), ((4.0, 2.0), (7.0, 2.0)), ((9.0, 2.0), (2.0, 1.0)), ((4.0,),)],
)
def test_bad_stops_are_refused(stops: tuple) -> None:
    with pytest.raises(SynthError, match="stops"):
        DriveConfig(stops=stops)
