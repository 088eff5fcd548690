"""The labels bag_label writes, pinned: a refactor of the labeling code must not change one pixel.

Each method labels one small synthetic drive with the shipped engines; the digest covers every
manifest record (without timings) and the decoded pixels of every label, confidence and image file.
The digests were recorded from the release before the labeling core was unified, with its motion
engine (DIS fast) named explicitly since the default became DIS medium; if a change is meant to alter
labels, record new ones and say why in the commit. warp-refine's was recorded again when the refiner
became class-agnostic (a new network and new shipped weights). All but semantic-only's were recorded
again when keyframes at most 2K apart began to bridge: this drive's keyframes are 10 apart at K = 6,
and the new digests equal those the release before wrote at K = 10, where each keyframe reached across.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from warp_refine_ros.bags.dataset import read_manifest
from warp_refine_ros.cli import bag_label
from warp_refine_ros.synth import DriveConfig, write_drive

TOPIC = "/camera/image_raw"
DIGESTS = {
    "motion-only": "7aa532f510d9fb22e212",
    "semantic-only": "e2ed367dcf3a1eafc92a",
    "warp-inpaint": "7492c798b060205e9a2a",
    "warp-refine": "1343e727c467a6ba410d",  # the class-agnostic Omega (refiner v2) and its weights
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


def label(drive, out: Path, method: str, backend: str = "numpy", radius: int = 6) -> Path:
    args = [str(drive.bag), "--image-topic", TOPIC, "--labels", str(drive.keyframes), "--out", str(out)]
    args += ["--method", method, "--motion", "dis:fast", "--radius", str(radius)]
    args += ["--propagation", backend, "--no-progress"]
    assert bag_label.main(args) == 0
    return out


@pytest.mark.parametrize("method", list(DIGESTS))
def test_every_method_writes_the_pinned_labels(drive, tmp_path: Path, method: str) -> None:
    assert digest(label(drive, tmp_path, method)) == DIGESTS[method]


def assert_backends_agree(numpy_out: Path, torch_out: Path) -> None:
    """The torch backend's dataset against numpy's: the same frames, keyframes and offsets, >= 99.9 % of
    label pixels equal, confidence within 1/255 where the labels agree."""
    by_stamp = {r.stamp_ns: r for r in read_manifest(numpy_out / "manifest.jsonl")}
    theirs = {r.stamp_ns: r for r in read_manifest(torch_out / "manifest.jsonl")}
    assert sorted(by_stamp) == sorted(theirs)
    equal = total = 0
    for stamp, record in by_stamp.items():
        other = theirs[stamp]
        assert (record.offset, record.keyframe_stamp_ns) == (other.offset, other.keyframe_stamp_ns)
        ours, its = (
            cv2.imread(str(root / r.label), cv2.IMREAD_UNCHANGED)
            for root, r in ((numpy_out, record), (torch_out, other))
        )
        same = ours == its
        equal, total = equal + int(same.sum()), total + same.size
        confidence = (
            cv2.imread(str(root / r.confidence), cv2.IMREAD_UNCHANGED).astype(int)
            for root, r in ((numpy_out, record), (torch_out, other))
        )
        assert np.abs(np.subtract(*confidence))[same].max(initial=0) <= 1
    assert equal >= 0.999 * total


@pytest.mark.parametrize("method", list(DIGESTS))
def test_the_torch_backend_writes_numpys_labels(drive, tmp_path: Path, method: str) -> None:
    assert_backends_agree(
        label(drive, tmp_path / "numpy", method), label(drive, tmp_path / "torch", method, "torch")
    )


@pytest.mark.slow
@pytest.mark.parametrize("method", list(DIGESTS))
def test_the_torch_backend_writes_numpys_labels_at_640x480(tmp_path: Path, method: str) -> None:
    drive = write_drive(tmp_path / "drive", DriveConfig(frames=41, seed=1000), keyframe_every=20, topic=TOPIC)
    numpy_out = label(drive, tmp_path / "numpy", method, radius=10)
    assert_backends_agree(numpy_out, label(drive, tmp_path / "torch", method, "torch", radius=10))
