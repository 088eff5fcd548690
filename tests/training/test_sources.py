"""Training data sources: keyframes from bags, folder pairs, bag_label output, and their datasets."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from warp_refine_ros.errors import DatasetError
from warp_refine_ros.labels import LabelSpec, read_label_png
from warp_refine_ros.synth import DriveFiles
from warp_refine_ros.training.augment import Augmentation
from warp_refine_ros.training.data import IGNORE_INDEX, AutoLabeledDataset, SegmentationDataset
from warp_refine_ros.training.sampler import MixedSampler
from warp_refine_ros.training.sources import (
    KeyframeSource,
    extract_keyframes,
    folder_pairs,
    match_source,
    pair_sources,
    read_rgb,
)

from .conftest import TOPIC


def test_keyframes_are_decoded_once_with_their_labels(tmp_path: Path, drives: list[DriveFiles], spec) -> None:
    drive = drives[0]
    stream = match_source(KeyframeSource(drive.bag, TOPIC, drive.keyframes), spec)
    items = extract_keyframes(stream, tmp_path, spec)
    assert [int(i.image.stem) for i in items] == list(drive.keyframe_stamps_ns)
    for item in items:
        truth = read_label_png(drive.truth / f"{item.image.stem}.png")
        np.testing.assert_array_equal(read_label_png(item.label), truth)
        assert read_rgb(item.image).shape == (48, 64, 3)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.png")}
    extract_keyframes(stream, tmp_path, spec)  # a second run reuses the files
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.png")} == stamps


def test_labels_that_match_no_image_stamp(tmp_path: Path, drives: list[DriveFiles], spec) -> None:
    cv2.imwrite(str(tmp_path / "123.png"), np.zeros((48, 64), np.uint8))
    with pytest.raises(DatasetError, match=r"none of the 1 keyframe labels .* matches an image header stamp"):
        match_source(KeyframeSource(drives[0].bag, TOPIC, tmp_path), spec)


def test_label_folders_pair_with_bags(drives: list[DriveFiles]) -> None:
    bags = [d.bag for d in drives]
    shared = pair_sources(bags, [Path("labels")], TOPIC)
    assert [s.labels for s in shared] == [Path("labels")] * 2
    with pytest.raises(ValueError, match="once per bag"):
        pair_sources(bags, [Path("a"), Path("b"), Path("c")], TOPIC)
    with pytest.raises(ValueError, match="--image-topic"):
        pair_sources(bags, [Path("a")], None)


def test_folder_pairs_by_stem(tmp_path: Path) -> None:
    images, labels = tmp_path / "images", tmp_path / "labels"
    images.mkdir(), labels.mkdir()
    for stem in ("a", "b", "c"):
        cv2.imwrite(str(images / f"{stem}.jpg"), np.zeros((8, 8, 3), np.uint8))
    for stem in ("a", "b"):
        cv2.imwrite(str(labels / f"{stem}.png"), np.zeros((8, 8), np.uint8))
    pairs = folder_pairs(images, labels)
    assert [(p.image.name, p.label.name) for p in pairs] == [("a.jpg", "a.png"), ("b.jpg", "b.png")]
    cv2.imwrite(str(labels / "z.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(DatasetError, match=r"1 label\(s\) have no image .* z.png"):
        folder_pairs(images, labels)


def test_segmentation_items_are_augmented_reproducibly(
    tmp_path: Path, drives: list[DriveFiles], spec
) -> None:
    stream = match_source(KeyframeSource(drives[0].bag, TOPIC, drives[0].keyframes), spec)
    items = extract_keyframes(stream, tmp_path, spec)
    augmentation = Augmentation(input_scale=0.5, crop=(16, 24))
    dataset = SegmentationDataset(items, spec, augmentation=augmentation, seed=4)
    image, target = dataset[1]
    assert image.shape == (3, 16, 24) and image.dtype == torch.float32 and target.dtype == torch.int64
    assert set(target.unique().tolist()) <= set(range(spec.num_classes)) | {IGNORE_INDEX}
    assert torch.equal(dataset[1][0], image)  # same (seed, epoch, index), same sample
    dataset.set_epoch(1)
    assert not torch.equal(dataset[1][0], image)


def test_autolabeled_dataset_filters_and_mixes(labeled: Path, spec: LabelSpec) -> None:
    everything = AutoLabeledDataset(labeled)
    assert len(everything.manual_indices) == 3  # keyframes 0, 5, 10 of 12 frames
    assert len(everything.propagated_indices) == 9  # frames within 2 of them
    near = AutoLabeledDataset(labeled, max_offset=1)
    assert len(near.propagated_indices) == 5
    assert len(AutoLabeledDataset(labeled, methods=["motion-only"])) == 12
    with pytest.raises(DatasetError, match="no frame passes the filters"):
        AutoLabeledDataset(labeled, methods=["warp-refine"])
    sampler = MixedSampler.propagated_and_manual(everything.propagated_indices, everything.manual_indices)
    drawn = list(sampler)
    assert len(drawn) == 9 and sum(everything.items[i].manual for i in drawn) == 3  # 70/30 of 3 x 3


def test_low_confidence_pixels_become_ignore(labeled: Path, spec: LabelSpec) -> None:
    strict = AutoLabeledDataset(labeled, pixel_confidence=1.0)
    loose = AutoLabeledDataset(labeled)
    index = strict.propagated_indices[-1]
    _, strict_labels = strict.load(index)
    _, loose_labels = loose.load(index)
    ignored = strict_labels == spec.ignore_id
    assert ignored.any() and (loose_labels[ignored] != spec.ignore_id).any()
    assert (strict.load(strict.manual_indices[0])[1] != spec.ignore_id).all()  # keyframes keep every pixel
