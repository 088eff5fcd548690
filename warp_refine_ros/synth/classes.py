"""Cityscapes train ids of the classes the synthetic street contains (config/classes/cityscapes.yaml)."""

from __future__ import annotations

from enum import IntEnum


class Class(IntEnum):
    """The train id of each class; the tests check these against the shipped spec."""

    ROAD = 0
    SIDEWALK = 1
    BUILDING = 2
    WALL = 3
    FENCE = 4
    POLE = 5
    TRAFFIC_LIGHT = 6
    TRAFFIC_SIGN = 7
    VEGETATION = 8
    TERRAIN = 9
    SKY = 10
    PERSON = 11
    RIDER = 12
    CAR = 13
    TRUCK = 14
    BUS = 15
    TRAIN = 16
    MOTORCYCLE = 17
    BICYCLE = 18

    @property
    def spec_name(self) -> str:
        """The class name as the spec writes it ("traffic light")."""
        return self.name.lower().replace("_", " ")
