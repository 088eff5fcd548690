"""Training at camera sizes that do not divide into g's grid: 480x360, 482x242, 1920x1080, portrait, tiny.

The refiner's crops are checked on cache entries written here (images that hold their own pixel
coordinates, so every item shows where it was cut from); both trainers run end to end on tiny drives.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from torch.utils.data import DataLoader

from warp_refine_ros.cli import train_refiner, train_seg
from warp_refine_ros.engines.onnx_backend import OnnxRefiner, OnnxSegmentation
from warp_refine_ros.engines.preprocess import scaled_size
from warp_refine_ros.engines.torch_backend import TorchRefiner, TorchSegmentation
from warp_refine_ros.labels import LabelSpec, read_label_png
from warp_refine_ros.modelspec import PIXELS
from warp_refine_ros.networks.blocks import resize_to
from warp_refine_ros.synth import DriveConfig, DriveFiles, write_drive
from warp_refine_ros.training.cycle_cache import CycleEntry
from warp_refine_ros.training.cycle_data import CycleDataset
from warp_refine_ros.training.data import IGNORE_INDEX
from warp_refine_ros.training.sources import write_png

from .conftest import TOPIC

CROP, STRIDE = (256, 320), 16
SIZES = [(360, 480), (242, 482), (1080, 1920), (640, 360), (14, 20)]  # (H, W)


def target_pattern(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    return (xs // 7 + ys // 5) % 19


def cycle_pattern(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    return (xs // 3 + ys // 11) % 19


def feature_size(size: tuple[int, int]) -> tuple[int, int]:
    """g's feature grid for a camera image: 1/8 of the input at input_scale 0.5."""
    return tuple(-(-n // 8) for n in scaled_size(*size, 0.5))


def write_entry(folder: Path, size: tuple[int, int], spec: LabelSpec) -> CycleEntry:
    """A cache entry whose image encodes y * W + x in its 24 RGB bits, with patterned labels and
    features holding their own (row, column) position."""
    height, width = size
    ys, xs = np.mgrid[:height, :width]
    code = ys * width + xs
    image = np.stack([code >> 16, (code >> 8) & 255, code & 255], axis=-1).astype(np.uint8)
    folder.mkdir(parents=True)
    write_png(folder / "image.png", image)
    write_png(folder / "label.png", spec.ids[target_pattern(ys, xs)].astype(np.uint8))
    write_png(folder / "forward_1.png", cycle_pattern(ys, xs).astype(np.uint8))
    rows, cols = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in feature_size(size)), indexing="ij")
    np.save(folder / "features.npy", np.stack([rows, cols]))
    return CycleEntry(folder, 0, forward=1, backward=0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, spec: LabelSpec) -> CycleDataset:
    root = tmp_path_factory.mktemp("cache")
    entries = [write_entry(root / f"{w}x{h}", (h, w), spec) for h, w in SIZES]
    return CycleDataset(entries, spec, normalization=PIXELS, samples_per_keyframe=4, seed=3)


def test_every_crop_has_the_crop_size_and_batches_stack(dataset: CycleDataset) -> None:
    labels, image, features, target = next(iter(DataLoader(dataset, batch_size=len(dataset))))
    assert labels.shape == (len(dataset), 19, *CROP) and image.shape == (len(dataset), 3, *CROP)
    assert features.shape == (len(dataset), 2, CROP[0] // STRIDE, CROP[1] // STRIDE)
    assert target.shape == (len(dataset), *CROP)


def test_crops_keep_image_labels_and_features_registered(dataset: CycleDataset) -> None:
    flips = set()
    for index in range(len(dataset)):
        labels, image, features, target = dataset[index]
        height, width = SIZES[index % len(SIZES)]
        code = image.round().long()  # PIXELS: the raw 0..255 values
        ys, xs = np.divmod((code[0] << 16 | code[1] << 8 | code[2]).numpy(), width)
        flipped = bool(xs[0, -1] < xs[0, 0])
        cols = np.arange(CROP[1])[::-1] if flipped else np.arange(CROP[1])
        inside = (np.arange(CROP[0])[:, None] < height) & (cols < width)  # padding: bottom, right
        np.testing.assert_array_equal(target.numpy()[inside], target_pattern(ys, xs)[inside])
        assert (target.numpy()[~inside] == IGNORE_INDEX).all()
        np.testing.assert_array_equal(labels.argmax(0).numpy(), cycle_pattern(ys, xs))  # edge repeated
        flips.add(flipped)
        # The refiner resizes the crop's features; where no border clamps them, every pixel must get
        # the feature position of the pixel it shows: u = (y + 0.5) h / H - 0.5, as at inference.
        grid_h, grid_w = feature_size((height, width))
        seen = resize_to(features[None], target[None])[0].numpy()
        expected = np.stack([(ys + 0.5) * grid_h / height - 0.5, (xs + 0.5) * grid_w / width - 0.5])
        away_y = (ys >= STRIDE + height / grid_h) & (ys < height - STRIDE - height / grid_h)
        away_x = (xs >= STRIDE + width / grid_w) & (xs < width - STRIDE - width / grid_w)
        interior = np.zeros(CROP, dtype=bool)
        interior[STRIDE:-STRIDE, STRIDE:-STRIDE] = True
        mask = away_y & away_x & interior
        if height > 2 * CROP[0] // 3:
            assert mask.sum() > 0.2 * mask.size
        np.testing.assert_allclose(seen[:, mask], expected[:, mask], atol=1e-4)
    assert flips == {False, True}


@pytest.fixture(scope="module", params=[(360, 480), (242, 482)], ids=lambda s: f"{s[1]}x{s[0]}")
def odd_drive(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DriveFiles:
    """Five frames, keyframes 0 and 4, at a camera size that g's 1/8 grid does not divide."""
    height, width = request.param
    folder = tmp_path_factory.mktemp(f"drive{width}x{height}")
    return write_drive(folder, DriveConfig(width=width, height=height, frames=5, seed=5), keyframe_every=4)


def camera_image(drive: DriveFiles) -> np.ndarray:
    """A random image of the drive's camera size."""
    size = read_label_png(drive.keyframes / f"{drive.keyframe_stamps_ns[0]}.png").shape
    return np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)


def test_train_refiner_at_the_camera_size(tmp_path: Path, odd_drive: DriveFiles, random_engines) -> None:
    out = tmp_path / "refiner"
    arguments = ["--bag", str(odd_drive.bag), "--labels", str(odd_drive.keyframes), "--image-topic", TOPIC,
                 "--val-bag", str(odd_drive.bag), "--val-labels", str(odd_drive.keyframes),
                 "--val-truth", str(odd_drive.truth), "--val-radius", "1",
                 "--seg", str(random_engines["segmentation.onnx"]), "--out", str(out), "--epochs", "1",
                 "--max-length", "1", "--widths", "8", "16", "24", "32", "--batch-size", "2",
                 "--samples-per-keyframe", "2", "--no-progress", "--no-tensorboard"]  # fmt: skip
    assert train_refiner.main(arguments) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["keyframes"] == 2 and metrics["val_warp_refine"]["1"] is not None
    segmentation = TorchSegmentation(random_engines["segmentation.pt"])
    image = camera_image(odd_drive)
    features = segmentation.segment(image).features
    channels = np.random.default_rng(1).integers(0, 19, image.shape[:2]).astype(np.uint8)
    expected = TorchRefiner(out / "refiner.pt").refine(channels, image, features)
    found = OnnxRefiner(out / "refiner.onnx").refine(channels, image, features)
    assert found.shape == (*image.shape[:2], 19)
    np.testing.assert_allclose(found, expected, atol=1e-4)


def test_train_seg_at_the_camera_size(tmp_path: Path, odd_drive: DriveFiles) -> None:
    out = tmp_path / "seg"
    arguments = ["--bag", str(odd_drive.bag), "--labels", str(odd_drive.keyframes), "--image-topic", TOPIC,
                 "--val-bag", str(odd_drive.bag), "--val-labels", str(odd_drive.truth),
                 "--classes", "config/classes/cityscapes.yaml", "--out", str(out), "--epochs", "1",
                 "--batch-size", "2", "--width", "0.5", "--feature-channels", "16",
                 "--no-progress", "--no-tensorboard"]  # fmt: skip
    assert train_seg.main(arguments) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["frames"]["val"] == 5 and 0.0 <= metrics["val"]["miou"] <= 1.0
    image = camera_image(odd_drive)
    expected = TorchSegmentation(out / "seg.pt").segment(image)
    found = OnnxSegmentation(out / "seg.onnx").segment(image)
    assert found.probabilities.shape == (*image.shape[:2], 19)
    np.testing.assert_allclose(found.probabilities, expected.probabilities, atol=1e-4)
    np.testing.assert_allclose(found.features, expected.features, atol=1e-4)
