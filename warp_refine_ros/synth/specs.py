"""The class specs a drive's labels can be written in: Cityscapes' 19 train ids, or CamVid's 11 classes.

The renderer always labels in Cityscapes train ids (``Class``); a coarser spec is a lookup table
from those ids, applied when the label PNGs are written. A drive in CamVid's spec does not fit the
shipped 19-class networks: it stands for a fleet whose labelers use another taxonomy.
"""

from __future__ import annotations

import numpy as np

from warp_refine_ros.labels import IGNORE_ID, LabelClass, LabelSpec
from warp_refine_ros.synth.classes import Class
from warp_refine_ros.synth.config import SynthError

CAMVID = (
    LabelClass(0, "sky", (128, 128, 128)),
    LabelClass(1, "building", (128, 0, 0)),
    LabelClass(2, "pole", (192, 192, 128)),
    LabelClass(3, "road", (128, 64, 128)),
    LabelClass(4, "sidewalk", (60, 40, 222)),
    LabelClass(5, "tree", (128, 128, 0)),
    LabelClass(6, "sign symbol", (192, 128, 128)),
    LabelClass(7, "fence", (64, 64, 128)),
    LabelClass(8, "car", (64, 0, 128)),
    LabelClass(9, "pedestrian", (64, 64, 0)),
    LabelClass(10, "bicyclist", (0, 128, 192)),
)
"""CamVid's 11 classes in their usual order and colours (SegNet's grouping of the 32 CamVid labels)."""

CAMVID_NAME = {
    Class.ROAD: "road",
    Class.SIDEWALK: "sidewalk",
    Class.BUILDING: "building",
    Class.WALL: "building",
    Class.FENCE: "fence",
    Class.POLE: "pole",
    Class.TRAFFIC_LIGHT: "sign symbol",
    Class.TRAFFIC_SIGN: "sign symbol",
    Class.VEGETATION: "tree",
    Class.TERRAIN: "tree",
    Class.SKY: "sky",
    Class.PERSON: "pedestrian",
    Class.RIDER: "bicyclist",
    Class.CAR: "car",
    Class.TRUCK: "car",
    Class.BUS: "car",
    Class.TRAIN: "car",
    Class.MOTORCYCLE: "bicyclist",
    Class.BICYCLE: "bicyclist",
}
"""CamVid class of each Cityscapes train class, as CamVid groups them (walls with buildings, grass
with trees, traffic lights with signs, trucks and buses with cars, bicycles with their riders)."""

LABEL_SPECS = ("cityscapes", "camvid")


def spec_table(name: str) -> tuple[LabelSpec, np.ndarray]:
    """The spec called ``name`` and its lookup table (256,) uint8 from the renderer's Cityscapes ids."""
    table = np.full(256, IGNORE_ID, np.uint8)
    if name == "cityscapes":
        table[[int(c) for c in Class]] = [int(c) for c in Class]
        return LabelSpec.default(), table
    if name == "camvid":
        spec = LabelSpec(CAMVID)
        ids = {c.name: c.id for c in CAMVID}
        for cls, target in CAMVID_NAME.items():
            table[cls] = ids[target]
        return spec, table
    raise SynthError(f"unknown label spec {name!r}; choose one of {', '.join(LABEL_SPECS)}")
