"""The refiner's training samples: crops of (Lm, M, g's probabilities, I_t, L_t) from the cycle cache.

Each item is one keyframe with a cycle direction and length l drawn uniformly among those cached in
[min_length, max_length] (section 4.2 samples l up to 6, both directions): the warped labels and trust
mask the cycle arrives at t with, g's probabilities of I_t, the image, and the keyframe's own label as
the target. With ``min_length = 0`` and ``max_length = 0`` the input is the keyframe's own label, fully
trusted (no cycle): the ablation the cycle loss is measured against. Crops have exactly the requested
size at any camera size, and g's probabilities are sampled at the crop's pixels exactly as the refiner
upsamples them at inference (:mod:`.crops`). Only keyframe labels are ever read.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from warp_refine_ros.engines.preprocess import (
    image_tensor,
    one_hot_planes,
    resize_image,
    shrink_labels,
    working_size,
)
from warp_refine_ros.errors import DatasetError, UsageError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.modelspec import IMAGENET, Normalization
from warp_refine_ros.propagation.probabilities import NO_CLASS
from warp_refine_ros.training.crops import crop_array, crop_features, crop_origin
from warp_refine_ros.training.cycle_cache import DIRECTIONS, CycleEntry, load_cycle, load_entry
from warp_refine_ros.training.data import IGNORE_INDEX, target_channels

Sample = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class CycleDataset(Dataset):
    """Items ``(labels (C, h, w), trust (1, h, w), segmentation (C, gh, gw), image (3, h, w), target
    (h, w))`` for Omega.

    With a ``crop`` every item is exactly (h, w) = ``crop``, so batches stack whatever the camera
    sizes: an image smaller than the crop is padded at the bottom and right (its edge pixels repeated
    in image, labels and trust, target ignored there), and g's probabilities are their field sampled at
    every pixel of the crop (the refiner's own resize is then the identity). Without a crop, items are
    whole frames with g's probabilities on g's grid. ``samples_per_keyframe`` items per keyframe and
    epoch; the choice of direction, length, crop and flip depends on (seed, epoch, index) only. Call
    :meth:`set_epoch` before each epoch.
    """

    def __init__(
        self,
        entries: list[CycleEntry],
        spec: LabelSpec,
        *,
        normalization: Normalization = IMAGENET,
        lengths: tuple[int, int] = (1, 6),
        crop: tuple[int, int] | None = (256, 320),
        max_pixels: int | None = None,
        flip: bool = True,
        samples_per_keyframe: int = 1,
        seed: int = 0,
    ) -> None:
        low, high = lengths
        if not 0 <= low <= high:
            raise UsageError(f"cycle lengths must satisfy 0 <= min <= max, got {lengths}")
        self.spec = spec
        self.normalization = normalization
        self.lengths = lengths
        self.crop = crop
        self.max_pixels = max_pixels  # frames larger than this are shrunk first, as the engines shrink them
        self.flip = flip
        self.samples_per_keyframe = samples_per_keyframe
        self.seed = seed
        self.epoch = 0
        self.entries = [e for e in entries if self.choices(e)]
        if not self.entries:
            raise DatasetError(
                f"no keyframe has a cached cycle of length {low}..{high}; the bags need at least "
                f"{max(low, 1)} frame(s) on one side of a keyframe"
            )

    def choices(self, entry: CycleEntry) -> list[tuple[str, int]]:
        """The (direction, l) pairs this keyframe offers; ("none", 0) is the keyframe label itself."""
        low, high = self.lengths
        pairs = [("none", 0)] if low == 0 else []
        for direction in DIRECTIONS:
            pairs += [(direction, n) for n in range(max(low, 1), min(high, entry.lengths(direction)) + 1)]
        return pairs

    def __len__(self) -> int:
        return len(self.entries) * self.samples_per_keyframe

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, index: int) -> Sample:
        entry = self.entries[index % len(self.entries)]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        choices = self.choices(entry)
        direction, length = choices[int(rng.integers(len(choices)))]
        image, labels, segmentation = load_entry(entry)
        target = target_channels(labels, self.spec)
        if length == 0:  # the keyframe's own label, trusted everywhere (a label's ignore is NO_CLASS)
            warped, trusted = np.where(target == IGNORE_INDEX, NO_CLASS, target), np.ones(target.shape, bool)
        else:
            warped, trusted = load_cycle(entry, direction, length)
        if self.max_pixels is not None:
            size = working_size(*target.shape, self.max_pixels)
            image = resize_image(image, size)
            warped, trusted, target = (
                shrink_labels(a, size) for a in (warped, trusted.astype(np.uint8), target)
            )
        trust = trusted.astype(np.float32)
        segmentation = segmentation.transpose(2, 0, 1)  # (C, h, w)
        image, warped, trust, target, segmentation = self._crop(
            rng, image, warped, trust, target, segmentation
        )
        if self.flip and rng.random() < 0.5:
            image, warped, trust, target = (a[:, ::-1] for a in (image, warped, trust, target))  # (h, w, ...)
            segmentation = segmentation[..., ::-1]  # (C, gh, gw)
        return (
            torch.from_numpy(one_hot_planes(warped, self.spec.num_classes)),  # NO_CLASS -> zeros
            torch.from_numpy(np.ascontiguousarray(trust)[None]),
            torch.from_numpy(np.ascontiguousarray(segmentation, dtype=np.float32)),
            torch.from_numpy(image_tensor(np.ascontiguousarray(image), self.normalization)[0]),
            torch.from_numpy(np.ascontiguousarray(target, dtype=np.int64)),
        )

    def _crop(
        self,
        rng: np.random.Generator,
        image: np.ndarray,
        warped: np.ndarray,
        trust: np.ndarray,
        target: np.ndarray,
        segmentation: np.ndarray,
    ) -> tuple[np.ndarray, ...]:
        """A random ``crop`` window of the frame, and g's probabilities sampled at its pixels."""
        if self.crop is None:
            return image, warped, trust, target, segmentation
        origin = crop_origin(rng, target.shape, self.crop)
        return (
            crop_array(image, origin, self.crop),
            crop_array(warped, origin, self.crop),
            crop_array(trust, origin, self.crop),
            crop_array(target, origin, self.crop, fill=IGNORE_INDEX),
            crop_features(segmentation, target.shape, origin, self.crop, self.crop),
        )
