"""bag_label end to end at camera sizes g's grid does not divide: odd, portrait and tiny (20x16).

Each run labels with warp-refine through the random-weight ONNX engines and must write exactly what
the propagation gives on the frames directly, every file at the camera's size, keyframes unchanged.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from warp_refine_ros.bags.dataset import read_manifest
from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.bags.review import review_topics
from warp_refine_ros.engines.loading import EngineSet
from warp_refine_ros.propagation import Frame, Method, Propagator, StreamLabeler
from warp_refine_ros.synth import DriveConfig, render_drive

from .conftest import TinyDrive
from .test_bag_label import RADIUS, label

TOPIC = "/cam/image_raw"
SIZES = {"odd": (61, 121), "portrait": (96, 54), "tiny": (16, 20)}  # (H, W)


def drive_of_size(height: int, width: int) -> TinyDrive:
    """A 17-frame drive (keyframes 0, 8, 16) cut to (height, width) from a render at least 16 px a side."""
    config = DriveConfig(width=max(width, 16), height=max(height, 16), frames=17, seed=6)
    cut = np.s_[:height, :width]
    return TinyDrive(
        [
            replace(f, image=np.ascontiguousarray(f.image[cut]), labels=np.ascontiguousarray(f.labels[cut]))
            for f in render_drive(config).frames
        ]
    )


def direct_labels(spec, engines, drive: TinyDrive) -> dict:
    """What StreamLabeler gives on the frames directly, by stamp."""
    propagator = Propagator(
        Method.WARP_REFINE,
        spec,
        motion=engines.motion,
        segmentation=engines.segmentation,
        refiner=engines.refiner,
    )
    labeler = StreamLabeler(propagator, RADIUS)
    out = {}
    for frame in drive.frames:
        key = frame.labels if frame.index in drive.keyframe_indices else None
        out.update(
            {lf.frame.stamp_ns: lf.labeling for lf in labeler.push(Frame(frame.image, frame.stamp_ns), key)}
        )
    out.update({lf.frame.stamp_ns: lf.labeling for lf in labeler.finish()})
    return out


@pytest.mark.parametrize("name", sorted(SIZES))
def test_bag_label_writes_the_direct_propagation_at_the_camera_size(
    tmp_path, spec, random_engines, name
) -> None:
    height, width = SIZES[name]
    drive = drive_of_size(height, width)
    bag = drive.write_bag(tmp_path, "mcap", cameras=[(TOPIC, "rgb8")])
    keyframes = drive.write_keyframes(tmp_path / "keyframes")
    out = tmp_path / "out"
    extra = ["--color", "--out-bag", tmp_path / "review"]
    assert label([bag], out, *extra, labels=keyframes, method="warp-refine", engines=random_engines) == 0
    records = read_manifest(out / "manifest.jsonl")
    expected = direct_labels(spec, EngineSet.from_yaml(random_engines), drive)
    assert sorted(r.stamp_ns for r in records) == sorted(expected)
    keyframe_labels = {f.stamp_ns: f.labels for f in drive.frames if f.index in drive.keyframe_indices}
    for record in records:
        written = cv2.imread(str(out / record.label), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(written, expected[record.stamp_ns].labels)
        if record.offset == 0:
            np.testing.assert_array_equal(written, keyframe_labels[record.stamp_ns])
        for path in (record.image, record.confidence, f"color/{record.camera}/{record.stamp_ns}.png"):
            assert cv2.imread(str(out / path), cv2.IMREAD_UNCHANGED).shape[:2] == (height, width), path
    with BagReader(tmp_path / "review") as reader:
        shapes = {message.decode().shape[:2] for message in reader.images(review_topics(TOPIC))}
    assert shapes == {(height, width)}
