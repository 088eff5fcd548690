"""The refiner's training samples: (one-hot L°_t, I_t, g-features, L_t) crops from the cycle cache.

Each item is one keyframe with a cycle direction and length l drawn uniformly among those cached in
[min_length, max_length] (section 4.2 samples l up to 6, both directions). With ``min_length = 0`` and
``max_length = 0`` the input is the keyframe's own label (no cycle): the ablation the cycle loss is
measured against. Crops have exactly the requested size at any camera size, and g's features are
resampled over each crop as the refiner sees them at inference (:mod:`.crops`). Only keyframe labels
are ever read.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from warp_refine_ros.engines.preprocess import image_tensor, one_hot_planes
from warp_refine_ros.errors import DatasetError, UsageError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.modelspec import IMAGENET, Normalization
from warp_refine_ros.networks.refiner import RefinerConfig
from warp_refine_ros.propagation.probabilities import NO_CLASS
from warp_refine_ros.training.crops import crop_array, crop_features, crop_origin
from warp_refine_ros.training.cycle_cache import DIRECTIONS, CycleEntry, load_cycle, load_entry
from warp_refine_ros.training.data import IGNORE_INDEX, target_channels

Sample = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class CycleDataset(Dataset):
    """Items ``(labels (C, h, w), image (3, h, w), features (D, fh, fw), target (h, w))`` for Omega.

    With a ``crop`` every item is exactly (h, w) = ``crop``, so batches stack whatever the camera
    sizes: an image smaller than the crop is padded at the bottom and right (its edge pixels repeated
    in image and labels, target ignored there), and the features are g's feature field sampled on the
    grid of cells of ``feature_stride`` pixels over the crop (the refiner's deepest map: its own
    resize is then the identity). Without a crop, items are whole frames with g's features unchanged.
    ``samples_per_keyframe`` items per keyframe and epoch; the choice of direction, length, crop and
    flip depends on (seed, epoch, index) only. Call :meth:`set_epoch` before each epoch.
    """

    def __init__(
        self,
        entries: list[CycleEntry],
        spec: LabelSpec,
        *,
        normalization: Normalization = IMAGENET,
        lengths: tuple[int, int] = (1, 6),
        crop: tuple[int, int] | None = (256, 320),
        feature_stride: int = RefinerConfig().stride,
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
        self.feature_stride = feature_stride
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
        image, labels, features = load_entry(entry)
        target = target_channels(labels, self.spec)
        # Cycle PNGs hold channels with NO_CLASS where no class had mass; a label's ignore is the same.
        cycled = (
            np.where(target == IGNORE_INDEX, NO_CLASS, target)
            if length == 0
            else load_cycle(entry, direction, length)
        )
        image, cycled, target, features = self._crop(rng, image, cycled, target, features)
        if self.flip and rng.random() < 0.5:
            image, cycled, target, features = (
                image[:, ::-1],
                cycled[:, ::-1],
                target[:, ::-1],
                features[..., ::-1],
            )
        return (
            torch.from_numpy(one_hot_planes(cycled, self.spec.num_classes)),  # NO_CLASS -> zeros
            torch.from_numpy(image_tensor(np.ascontiguousarray(image), self.normalization)[0]),
            torch.from_numpy(np.ascontiguousarray(features)),
            torch.from_numpy(np.ascontiguousarray(target, dtype=np.int64)),
        )

    def _crop(
        self,
        rng: np.random.Generator,
        image: np.ndarray,
        cycled: np.ndarray,
        target: np.ndarray,
        features: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A random ``crop`` window of the frame, and g's features resampled over it."""
        if self.crop is None:
            return image, cycled, target, features
        origin = crop_origin(rng, target.shape, self.crop)
        grid = tuple(-(-side // self.feature_stride) for side in self.crop)  # ceil
        return (
            crop_array(image, origin, self.crop),
            crop_array(cycled, origin, self.crop),
            crop_array(target, origin, self.crop, fill=IGNORE_INDEX),
            crop_features(features, target.shape, origin, self.crop, grid),
        )
