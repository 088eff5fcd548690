"""PyTorch datasets of labeled frames for the segmentation network, including bag_label output.

:class:`SegmentationDataset` turns :class:`LabeledImage` files into (normalised image, target)
tensors; the target holds class *channels* (the spec's order) with 255 where the label is ignore or,
for propagated frames, where the labeler was less confident than ``pixel_confidence``.
:class:`AutoLabeledDataset` reads a bag_label output through its manifest so that a team trains its
production model on the auto-labeled frames in a few lines::

    dataset = AutoLabeledDataset("labels_out", max_offset=6, augmentation=Augmentation())
    sampler = MixedSampler.propagated_and_manual(dataset.propagated_indices, dataset.manual_indices)
    loader = DataLoader(dataset, batch_size=8, sampler=sampler)  # call sampler.set_epoch(e) each epoch
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from warp_refine_ros.engines.preprocess import image_tensor
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.evaluation.dataset import read_classes
from warp_refine_ros.labels import LabelSpec, read_label_png
from warp_refine_ros.modelspec import IMAGENET, Normalization
from warp_refine_ros.training.augment import Augmentation
from warp_refine_ros.training.sources import LabeledImage, autolabeled_items, read_rgb

IGNORE_INDEX = 255  # the target value cross-entropy ignores


def target_channels(labels: np.ndarray, spec: LabelSpec) -> np.ndarray:
    """Label ids (H, W) -> class channels (H, W) uint8, IGNORE_INDEX for the ignore id."""
    channels = spec.id_to_channel[labels]
    return np.where(channels < 0, IGNORE_INDEX, channels).astype(np.uint8)


class SegmentationDataset(Dataset):
    """(image (3, h, w) float32 normalised, target (h, w) int64 channels) pairs, augmented per epoch.

    Augmentation randomness depends on (seed, epoch, index) only, so a run is reproducible with
    any number of loader workers and resumes exactly; call :meth:`set_epoch` before each epoch.
    """

    def __init__(
        self,
        items: Sequence[LabeledImage],
        spec: LabelSpec,
        *,
        normalization: Normalization = IMAGENET,
        augmentation: Augmentation | None = None,
        pixel_confidence: float | None = None,
        seed: int = 0,
    ) -> None:
        if not items:
            raise DatasetError("no labeled frames to train on")
        self.items = list(items)
        self.spec = spec
        self.normalization = normalization
        self.augmentation = augmentation
        self.pixel_confidence = pixel_confidence
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def manual_indices(self) -> list[int]:
        return [i for i, item in enumerate(self.items) if item.manual]

    @property
    def propagated_indices(self) -> list[int]:
        return [i for i, item in enumerate(self.items) if not item.manual]

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The frame's RGB image and its label ids, with low-confidence pixels set to ignore."""
        item = self.items[index]
        image = read_rgb(item.image)
        labels = self.spec.validate(read_label_png(item.label), shape=image.shape, name=str(item.label))
        if item.confidence is not None and self.pixel_confidence is not None:
            confidence = read_label_png(item.confidence)
            labels = np.where(confidence < round(255 * self.pixel_confidence), self.spec.ignore_id, labels)
        return image, labels.astype(np.uint8)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, labels = self.load(index)
        if self.augmentation is not None:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            image, labels = self.augmentation(image, labels, rng)
        batch = image_tensor(image, self.normalization)  # (1, 3, h, w)
        target = target_channels(labels, self.spec).astype(np.int64)
        return torch.from_numpy(batch[0]), torch.from_numpy(target)


class AutoLabeledDataset(SegmentationDataset):
    """The frames of one or more bag_label outputs, chosen by method, |offset| and confidence.

    ``min_confidence`` drops propagated frames whose mean confidence is lower; ``pixel_confidence``
    turns pixels below it into ignore. Keyframes (offset 0) are the manual labels.
    """

    def __init__(
        self,
        roots: str | Path | Iterable[str | Path],
        *,
        spec: LabelSpec | None = None,
        methods: Iterable[str] | None = None,
        max_offset: int | None = None,
        min_confidence: float | None = None,
        pixel_confidence: float | None = None,
        **kwargs: object,
    ) -> None:
        roots = [Path(roots)] if isinstance(roots, str | Path) else [Path(r) for r in roots]
        spec = spec or read_classes(roots[0])
        for root in roots:
            if differences := read_classes(root).class_differences(spec):
                raise DatasetError(
                    f"{root}/classes.yaml differs from the class spec given ({'; '.join(differences[:6])}); "
                    "use matching specs"
                )
        items = [
            item
            for root in roots
            for item in autolabeled_items(
                root, methods=methods, max_offset=max_offset, min_confidence=min_confidence
            )
        ]
        super().__init__(items, spec, pixel_confidence=pixel_confidence, **kwargs)
