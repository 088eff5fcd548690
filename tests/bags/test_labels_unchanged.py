"""The labels bag_label writes, pinned: a refactor of the labeling code must not change one pixel.

Each method labels one small synthetic drive with the shipped engines; the digest covers every
manifest record (without timings) and the decoded pixels of every label, confidence and image file.
The digests were recorded from the release before the labeling core was unified; if a change is
meant to alter labels, record new ones and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import pytest

from warp_refine_ros.bags.dataset import read_manifest
from warp_refine_ros.cli import bag_label
from warp_refine_ros.synth import DriveConfig, write_drive

TOPIC = "/camera/image_raw"
DIGESTS = {
    "motion-only": "bb52ebbeaae0b297eace",
    "semantic-only": "e2ed367dcf3a1eafc92a",
    "warp-inpaint": "4694ed84d54a7869a0b1",
    "warp-refine": "07845f56264938b11431",
}


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("pinned")
    return write_drive(
        out, DriveConfig(width=160, height=120, frames=31, seed=1000), keyframe_every=10, topic=TOPIC
    )


def digest(out: Path) -> str:
    """One hash of what the dataset says: its records and the pixels of its files."""
    hasher = hashlib.sha256()
    for record in sorted(read_manifest(out / "manifest.jsonl"), key=lambda r: r.stamp_ns):
        hasher.update(json.dumps(record.__dict__, sort_keys=True).encode())
        for name in (record.image, record.label, record.confidence):
            hasher.update(cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED).tobytes())
    return hasher.hexdigest()[:20]


@pytest.mark.parametrize("method", list(DIGESTS))
def test_every_method_writes_the_pinned_labels(drive, tmp_path: Path, method: str) -> None:
    args = [str(drive.bag), "--image-topic", TOPIC, "--labels", str(drive.keyframes), "--out", str(tmp_path)]
    assert bag_label.main([*args, "--method", method, "--radius", "6", "--no-progress"]) == 0
    assert digest(tmp_path) == DIGESTS[method]
