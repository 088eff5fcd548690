"""What adapt_labeler learns from: the drives' keyframes split into two folds, and labeled stills.

Every model is trained on the keyframes of a *part*: ``fold0`` and ``fold1`` (each without the
keyframes of that fold, which it is cross-validated on) and ``all`` (the models that ship). Keyframes
alternate between the folds along each stream, so a held-out keyframe's neighbours are always in the
other fold: the model that labels it was trained on them and never on it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from warp_refine_ros.adaptation.streams import LabeledStream, Window
from warp_refine_ros.bags.keyframes import camera_name, keyframes_from_directory
from warp_refine_ros.bags.reader import BagReader, bag_name
from warp_refine_ros.bags.windows import index_stream, match_keyframes
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.training.sources import (
    KeyframeSource,
    LabeledImage,
    extract_keyframes,
    folder_pairs,
    match_source,
)

FOLDS = ("fold0", "fold1")
PARTS = (*FOLDS, "all")


@dataclass(frozen=True)
class Inputs:
    """The command's data arguments."""

    bags: tuple[Path, ...]
    topic: str
    labels: Path
    spec: LabelSpec
    stills: tuple[tuple[Path, Path], ...] = ()  # (images, labels) folders paired by file stem
    tolerance_ns: int = 0


@dataclass
class Keyframes:
    """The matched keyframes of every drive, their fold, and per-part label folders and training items."""

    streams: list[LabeledStream]
    fold: dict[tuple[str, int], int]  # (bag name, keyframe label stamp) -> 0 or 1
    work: Path
    without_keyframes: tuple[Path, ...] = ()  # drives none of the labels matched

    def held_out_by(self, part: str) -> set[tuple[str, int]]:
        """The keyframes a part's models never see: its fold (none for ``all``)."""
        if part == "all":
            return set()
        return {key for key, fold in self.fold.items() if fold == FOLDS.index(part)}

    def model_for(self, window: Window) -> str:
        """The part whose models label a held-out window: the one trained without its keyframe."""
        return FOLDS[self.fold[(bag_name(window.stream.bag), window.keyframe)]]

    def labels_dir(self, part: str) -> Path:
        """A folder of the part's keyframe label PNGs (copies), for bag_label and the trainers."""
        folder = self.work / "keyframes" / part
        if not folder.is_dir():
            staging = folder.with_name(f".{part}.partial")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            hidden = self.held_out_by(part)
            for stream in self.streams:
                for stamp in stream.keyframes.values():
                    if (bag_name(stream.bag), stamp) not in hidden:
                        stream.labels.save(stamp, staging / f"{stamp}.png")
            staging.rename(folder)
        return folder

    def sources(self, part: str) -> list[KeyframeSource]:
        """One keyframe source per drive, restricted to the part's keyframes."""
        return [KeyframeSource(stream.bag, stream.topic, self.labels_dir(part)) for stream in self.streams]

    def manual(self, part: str, inputs: Inputs) -> list[LabeledImage]:
        """The part's human-labeled frames: its keyframes (decoded once) and every still."""
        cache = self.work / "frames"
        items = []
        for source in self.sources(part):
            items += extract_keyframes(match_source(source), cache, inputs.spec)
        for images, labels in inputs.stills:
            items += folder_pairs(images, labels)
        return items


def match(inputs: Inputs, work: Path) -> Keyframes:
    """Match each drive's keyframe labels to its frames and split them into two alternating folds."""
    camera = camera_name(inputs.topic)
    labels = keyframes_from_directory(inputs.labels, [camera])[camera]
    streams, fold, skipped = [], {}, []
    for bag in inputs.bags:
        with BagReader(bag) as reader:
            index = index_stream(bag_name(bag), inputs.topic, reader.image_index(inputs.topic))
        found = match_keyframes(index.stamps, labels.stamps, inputs.tolerance_ns).by_index
        if not found:
            skipped.append(bag)
            continue
        stream = LabeledStream(bag, inputs.topic, index, found, labels)
        for number, position in enumerate(sorted(found)):
            fold[(bag_name(bag), found[position])] = number % 2
        for position in found:
            inputs.spec.validate(labels.load(found[position]), name=labels.name(found[position]))
        streams.append(stream)
    if sum(len(stream.keyframes) for stream in streams) < 2:
        raise DatasetError(
            f"adapt_labeler needs at least two keyframes of {inputs.topic} in the drives (one is held out, "
            f"its neighbour labels it); {inputs.labels} matches {len(fold)}"
        )
    return Keyframes(streams, fold, work, tuple(skipped))
