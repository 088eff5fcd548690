"""Training at camera sizes that do not divide into g's grid: 480x360, 482x242, 1920x1080, portrait, tiny.

The refiner's crops are checked on cache entries written here (images that hold their own pixel
coordinates, so every item shows where it was cut from); both trainers run end to end on small drives.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from warp_refine_ros.cli import train_refiner, train_seg
from warp_refine_ros.engines.onnx_backend import OnnxRefiner, OnnxSegmentation
from warp_refine_ros.engines.preprocess import scaled_size
from warp_refine_ros.engines.torch_backend import TorchRefiner, TorchSegmentation
from warp_refine_ros.labels import LabelSpec, read_label_png
from warp_refine_ros.modelspec import PIXELS
from warp_refine_ros.synth import DriveConfig, DriveFiles, write_drive
from warp_refine_ros.training.cycle_cache import CycleEntry
from warp_refine_ros.training.cycle_data import CycleDataset
from warp_refine_ros.training.data import IGNORE_INDEX
from warp_refine_ros.training.sources import write_png

from .conftest import TOPIC

CROP = (256, 320)
SIZES = [(360, 480), (242, 482), (1080, 1920), (640, 360), (14, 20)]  # (H, W)


def target_pattern(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    return (xs // 7 + ys // 5) % 19


def cycle_pattern(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The warped labels' channels: a pattern, and no class (255) in a band where motion left the image."""
    return np.where(xs % 50 < 4, 255, (xs // 3 + ys // 11) % 19)


def trust_pattern(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    return (xs // 4 + ys // 6) % 3 > 0


def probability_grid(size: tuple[int, int]) -> tuple[int, int]:
    """g's probability grid for a camera image: 1/4 of the input at input_scale 0.5."""
    return tuple(-(-n // 4) for n in scaled_size(*size, 0.5))


def write_entry(folder: Path, size: tuple[int, int], spec: LabelSpec) -> CycleEntry:
    """A cache entry whose image encodes y * W + x in its 24 RGB bits, with patterned labels and trust,
    and g's probabilities whose first two channels hold their own (row, column) position."""
    height, width = size
    ys, xs = np.mgrid[:height, :width]
    code = ys * width + xs
    image = np.stack([code >> 16, (code >> 8) & 255, code & 255], axis=-1).astype(np.uint8)
    folder.mkdir(parents=True)
    write_png(folder / "image.png", image)
    write_png(folder / "label.png", spec.ids[target_pattern(ys, xs)].astype(np.uint8))
    write_png(folder / "forward_1.png", cycle_pattern(ys, xs).astype(np.uint8))
    write_png(folder / "forward_1_trust.png", trust_pattern(ys, xs).astype(np.uint8) * 255)
    grid = probability_grid(size)
    segmentation = np.zeros((*grid, spec.num_classes), np.float32)
    segmentation[..., 0], segmentation[..., 1] = np.meshgrid(*(np.arange(n) for n in grid), indexing="ij")
    np.save(folder / "segmentation.npy", segmentation)
    return CycleEntry(folder, 0, forward=1, backward=0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, spec: LabelSpec) -> CycleDataset:
    root = tmp_path_factory.mktemp("cache")
    entries = [write_entry(root / f"{w}x{h}", (h, w), spec) for h, w in SIZES]
    return CycleDataset(entries, spec, normalization=PIXELS, samples_per_keyframe=4, seed=3)


def test_every_crop_has_the_crop_size_and_batches_stack(dataset: CycleDataset) -> None:
    labels, trust, segmentation, image, target = next(iter(DataLoader(dataset, batch_size=len(dataset))))
    count = len(dataset)
    assert labels.shape == (count, 19, *CROP) and trust.shape == (count, 1, *CROP)
    assert segmentation.shape == (count, 19, *CROP) and image.shape == (count, 3, *CROP)
    assert target.shape == (count, *CROP)
    assert labels.dtype == trust.dtype == segmentation.dtype == image.dtype == torch.float32


def test_crops_keep_image_labels_trust_and_g_registered(dataset: CycleDataset) -> None:
    flips = set()
    for index in range(len(dataset)):
        labels, trust, segmentation, image, target = dataset[index]
        height, width = SIZES[index % len(SIZES)]
        code = image.round().long()  # PIXELS: the raw 0..255 values
        ys, xs = np.divmod((code[0] << 16 | code[1] << 8 | code[2]).numpy(), width)
        flipped = bool(xs[0, -1] < xs[0, 0])
        cols = np.arange(CROP[1])[::-1] if flipped else np.arange(CROP[1])
        inside_y, inside_x = (
            np.arange(CROP[0])[:, None] < height,
            cols[None] < width,
        )  # padding: bottom, right
        inside = inside_y & inside_x
        np.testing.assert_array_equal(target.numpy()[inside], target_pattern(ys, xs)[inside])
        assert (target.numpy()[~inside] == IGNORE_INDEX).all()
        channels = cycle_pattern(ys, xs)  # edge repeated in the padding
        assert (labels.sum(0).numpy() == (channels != 255)).all()  # one-hot, none where no class
        np.testing.assert_array_equal(labels.argmax(0).numpy()[channels != 255], channels[channels != 255])
        np.testing.assert_array_equal(trust[0].numpy(), trust_pattern(ys, xs))
        flips.add(flipped)
        # g's field at every pixel of the crop, where inference's bilinear resize of the whole frame puts
        # it: u = (y + 0.5) h / H - 0.5, clamped; beyond the image, its edge value.
        grid_h, grid_w = probability_grid((height, width))
        rows = np.where(inside_y, np.clip((ys + 0.5) * grid_h / height - 0.5, 0, grid_h - 1), grid_h - 1)
        columns = np.where(inside_x, np.clip((xs + 0.5) * grid_w / width - 0.5, 0, grid_w - 1), grid_w - 1)
        np.testing.assert_allclose(segmentation[0].numpy(), rows, atol=1e-3)
        np.testing.assert_allclose(segmentation[1].numpy(), columns, atol=1e-3)
    assert flips == {False, True}


def test_a_large_camera_is_cropped_from_the_refiners_working_size(tmp_path: Path, spec: LabelSpec) -> None:
    """With max_pixels the frame is first shrunk as the engines shrink it (here by 3 exactly: each pixel
    takes the value at its centre), keeping labels, trust and target registered, then cropped."""
    entry = write_entry(tmp_path / "1920x1080", (1080, 1920), spec)
    whole = CycleDataset([entry], spec, crop=None, flip=False, max_pixels=230_400)
    labels, trust, segmentation, image, target = whole[0]
    assert labels.shape[1:] == trust.shape[1:] == image.shape[1:] == target.shape == (360, 640)
    assert segmentation.shape == (19, *probability_grid((1080, 1920)))  # g's grid: a field over the image
    ys, xs = np.mgrid[1:1080:3, 1:1920:3]  # the centres of the 3 x 3 cells
    np.testing.assert_array_equal(target.numpy(), target_pattern(ys, xs))
    channels = cycle_pattern(ys, xs)
    np.testing.assert_array_equal(labels.argmax(0).numpy()[channels != 255], channels[channels != 255])
    np.testing.assert_array_equal(trust[0].numpy(), trust_pattern(ys, xs))
    cropped = CycleDataset([entry], spec, crop=CROP, max_pixels=230_400)
    assert [tensor.shape[-2:] for tensor in cropped[0][:2]] == [CROP, CROP]


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
    image = camera_image(odd_drive)
    segmentation = TorchSegmentation(random_engines["segmentation.pt"]).segment(image)
    rng = np.random.default_rng(1)
    channels = rng.integers(0, 19, image.shape[:2]).astype(np.uint8)
    trusted = rng.random(image.shape[:2]) < 0.8
    expected = TorchRefiner(out / "refiner.pt").refine(channels, trusted, segmentation, image)
    found = OnnxRefiner(out / "refiner.onnx").refine(channels, trusted, segmentation, image)
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
