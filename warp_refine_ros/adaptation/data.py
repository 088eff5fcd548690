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

from warp_refine_ros.adaptation.streams import HeldOutKeyframe, LabeledStream, held_out_keyframes
from warp_refine_ros.bags.keyframes import camera_name, keyframes_from_directory
from warp_refine_ros.bags.reader import BagReader, bag_name
from warp_refine_ros.bags.stream_index import index_stream, match_keyframes
from warp_refine_ros.bags.stream_plan import label_hash
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.holdout import HELD_OUT_REACH
from warp_refine_ros.training.sources import (
    KeyframeSource,
    LabeledImage,
    extract_keyframes,
    folder_pairs,
    match_source,
)

FOLDS = ("fold0", "fold1")


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

    def model_for(self, held_out: HeldOutKeyframe) -> str:
        """The part whose models label a held-out keyframe: the one trained without it."""
        return FOLDS[self.fold[(bag_name(held_out.stream.bag), held_out.keyframe)]]

    def labels_dir(self, part: str) -> Path:
        """A folder of the part's keyframe label PNGs (copies), for bag_label and the trainers."""
        folder = self.work / "keyframes" / part
        if not folder.is_dir():
            staging = folder.with_name(f".{part}.partial")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            hidden = self.held_out_by(part)
            for stream in self.streams:
                for position, stamp in stream.keyframes.items():
                    if (bag_name(stream.bag), stamp) not in hidden:  # named by the image's own stamp, so
                        image_stamp = stream.index.stamps[position]  # later steps match it exactly
                        stream.labels.save(stamp, staging / f"{image_stamp}.png")
            staging.rename(folder)
        return folder

    def streams_of(self, part: str) -> list[LabeledStream]:
        """The drives with at least one of the part's keyframes."""
        hidden = self.held_out_by(part)
        return [
            s for s in self.streams if any((bag_name(s.bag), k) not in hidden for k in s.keyframes.values())
        ]

    def sources(self, part: str) -> list[KeyframeSource]:
        """One keyframe source per drive that has keyframes of the part, restricted to them."""
        return [KeyframeSource(s.bag, s.topic, self.labels_dir(part)) for s in self.streams_of(part)]

    def manual(self, part: str, inputs: Inputs) -> list[LabeledImage]:
        """The part's human-labeled frames: its keyframes (decoded once) and every still."""
        cache = self.work / "frames"
        items = []
        for source in self.sources(part):
            items += extract_keyframes(match_source(source, inputs.spec), cache, inputs.spec)
        for images, labels in inputs.stills:
            items += folder_pairs(images, labels)
        return items


def match(inputs: Inputs, work: Path, radius: int) -> Keyframes:
    """Match each drive's keyframe labels to its frames and split them into two alternating folds."""
    camera = camera_name(inputs.topic)
    labels = keyframes_from_directory(inputs.labels, [camera], inputs.spec)[camera]
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
    if not held_out_keyframes(streams, radius):
        raise DatasetError(
            f"adapt_labeler needs two keyframes of {inputs.topic} in one drive at least (one is held out, "
            f"its neighbour labels it) at most {HELD_OUT_REACH} x --radius frames apart; {inputs.labels} "
            f"matches {len(fold)} keyframe(s), none so near another"
        )
    return Keyframes(streams, fold, work, tuple(skipped))


def fingerprint(keyframes: Keyframes) -> dict[str, str]:
    """Each matched keyframe's label hash by bag and image stamp, with its fold: what an adaptation's
    stored models were trained on (a rerun with other keyframes must not reuse them)."""
    found = {}
    for stream in keyframes.streams:
        for position, stamp in stream.keyframes.items():
            key = f"{bag_name(stream.bag)} {stream.index.stamps[position]}"
            found[key] = (
                f"{keyframes.fold[(bag_name(stream.bag), stamp)]} {label_hash(stream.labels.load(stamp))}"
            )
    return found
