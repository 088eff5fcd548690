"""suggest_keyframes: which frames of rosbags a human should label next, given those already labeled.

Every camera stream is read once at a small working size; DIS flow both ways between neighbouring
frames says how far trusted motion carries a keyframe's labels (:mod:`propagation.reach`), and the
count is placed over all streams at once (:mod:`propagation.keyframe_choice`). A stream is cut where
its resolution changes, as bag_label cuts it. Everything is read and checked before anything is
written (:mod:`suggestion_output` writes).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from warp_refine_ros.bags.keyframes import KeyframeSet, camera_name, keyframes_from_directory
from warp_refine_ros.bags.planning import overlap
from warp_refine_ros.bags.reader import BagReader, bag_name
from warp_refine_ros.bags.stream_index import StreamIndex, index_stream, match_keyframes
from warp_refine_ros.engines.dis import DisMotion, too_small
from warp_refine_ros.errors import BagError, DatasetError, UsageError
from warp_refine_ros.propagation import keyframe_choice
from warp_refine_ros.propagation.config import DEFAULT_RADIUS
from warp_refine_ros.propagation.reach import ReachCostBuilder, ReachCosts, shrink, working_size
from warp_refine_ros.propagation.trust import DEFAULT_TAU


@dataclass(frozen=True)
class ReachSettings:
    """How motion is measured for the choice: cheap, since only shares of pixels are needed."""

    long_side: int = 160  # working size: images shrunk to this long side (never enlarged)
    preset: str = "fast"  # DIS preset at that size
    tau: float = DEFAULT_TAU  # eq. 6's threshold, as bag_label's default

    @property
    def motion(self) -> str:
        return f"dis:{self.preset}"


@dataclass(frozen=True)
class SuggestRequest:
    """What suggest_keyframes is asked; the CLI fills it from arguments."""

    bags: list[Path]
    image_topics: list[str]
    count: int
    out: Path
    labels_dir: Path | None = None
    radius: int = DEFAULT_RADIUS
    progress: bool = True
    settings: ReachSettings = field(default_factory=ReachSettings)


@dataclass
class Chain:
    """Frames ``start..end-1`` of one camera stream of one bag, all of one size: what keyframes are
    placed in. ``labeled`` are positions (from ``start``) of frames whose labels exist already."""

    bag: Path
    index: StreamIndex
    start: int
    end: int
    labeled: list[int]

    @property
    def camera(self) -> str:
        return camera_name(self.index.topic)

    @property
    def frames(self) -> int:
        return self.end - self.start

    def stamp(self, position: int) -> int:
        """The header stamp of the frame at ``position`` of the chain."""
        return self.index.stamps[self.start + position]


@dataclass
class Suggestion:
    """The chains read, the keyframes chosen in them, and what the reading noticed."""

    chains: list[Chain]
    costs: list[ReachCosts]  # per chain: how far motion carries labels through it
    choice: keyframe_choice.Choice
    warnings: list[str]
    analysis_seconds: float

    @property
    def frames(self) -> int:
        return sum(chain.frames for chain in self.chains)

    def picked(self) -> Iterator[tuple[Chain, int]]:
        """(chain, position in the chain) of every suggested frame, chain by chain, in time order."""
        for chain, positions in zip(self.chains, self.choice.new, strict=True):
            for position in positions:
                yield chain, position


def check_request(request: SuggestRequest) -> None:
    """Arguments that cannot work, refused before any bag is read."""
    if not request.bags:
        raise UsageError("no bag given")
    names = [bag_name(bag) for bag in request.bags]
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        raise UsageError(f"several bags are named {repeated}; suggestions name bags by name, rename them")
    if len(set(request.image_topics)) != len(request.image_topics):
        raise UsageError(f"an --image-topic is repeated: {request.image_topics}")
    if request.count < 1:
        raise UsageError(f"--count must be 1 or more keyframes, got {request.count}")
    if request.radius < 1:
        raise UsageError(
            f"--radius must be 1 or more frames (the K bag_label labels with), got {request.radius}"
        )
    for bag in request.bags:
        if not bag.exists():
            raise BagError(f"bag {bag} does not exist")
    inputs = [("bag", bag) for bag in request.bags]
    inputs += [("--labels", request.labels_dir)] if request.labels_dir is not None else []
    for role, given in inputs:
        if overlap(request.out, given):
            raise DatasetError(f"--out {request.out} overlaps the input {role} {given}; write somewhere else")


def plan_chains(request: SuggestRequest) -> tuple[list[Chain], list[str]]:
    """Index every stream (header stamps only), cut it at size changes and match the labeled frames."""
    cameras = [camera_name(topic) for topic in request.image_topics]
    labeled = keyframes_from_directory(request.labels_dir, cameras, None) if request.labels_dir else {}
    chains: list[Chain] = []
    warnings: list[str] = []
    owners: dict[tuple[str, int], Path] = {}  # (camera, stamp) -> bag: an image file's name
    for bag in request.bags:
        with BagReader(bag) as reader:
            for topic in request.image_topics:
                index = index_stream(bag_name(bag), topic, reader.image_index(topic))
                if not index.stamps:
                    raise BagError(f"{bag}: image topic {topic} has no images")
                _claim_names(owners, bag, index)
                keys = labeled.get(camera_name(topic))
                labeled_positions = _labeled_positions(bag, index, keys, warnings) if keys else set()
                for start, end in index.segments():
                    inside = sorted(p - start for p in labeled_positions if start <= p < end)
                    chains.append(Chain(bag, index, start, end, inside))
                if index.dropped:
                    warnings.append(
                        f"{bag} {topic}: {index.dropped} images out of header stamp order were skipped, "
                        "as bag_label skips them"
                    )
    return chains, warnings


def _claim_names(owners: dict[tuple[str, int], Path], bag: Path, index: StreamIndex) -> None:
    """Images are named by camera and stamp: two bags holding the same ones would overwrite each other."""
    camera = camera_name(index.topic)
    for stamp in index.stamps:
        other = owners.setdefault((camera, stamp), bag)
        if other != bag:
            raise BagError(
                f"{other} and {bag} both hold an image of {index.topic} stamped {stamp}; is one a copy of "
                "the other? Give each drive once"
            )


def _labeled_positions(bag: Path, index: StreamIndex, keys: KeyframeSet, warnings: list[str]) -> set[int]:
    """Stream positions of the frames a label exists for; a label in the stream's time span that no
    image carries is named."""
    match = match_keyframes(index.stamps, keys.stamps, 0)
    for stamp, nearest in match.missed.items():
        near = f" (nearest image stamp {nearest})" if nearest is not None else ""
        warnings.append(
            f"{keys.name(stamp)} matches no image of {index.topic} in {bag}{near}; it is not counted "
            "as labeled (bag_label would not use it either)"
        )
    return set(match.by_index)


def analyse(request: SuggestRequest, chains: list[Chain]) -> list[ReachCosts]:
    """Read every chain's frames once and measure how far motion carries labels through them."""
    total = sum(chain.frames for chain in chains)
    bar = tqdm(total=total, unit="frame", desc="motion", disable=True if not request.progress else None)
    costs: dict[int, ReachCosts] = {}
    with bar:
        for bag in dict.fromkeys(chain.bag for chain in chains):
            with BagReader(bag) as reader:
                for number, chain in enumerate(chains):
                    if chain.bag == bag:
                        costs[number] = _chain_costs(reader, chain, request, bar)
    return [costs[number] for number in range(len(chains))]


def _chain_costs(reader: BagReader, chain: Chain, request: SuggestRequest, bar: tqdm) -> ReachCosts:
    settings = request.settings
    builder = ReachCostBuilder(DisMotion(settings.preset), request.radius, tau=settings.tau)
    size = shape = None
    for _, message in reader.indexed_images(chain.index, chain.start, chain.end - 1):
        image = message.decode()
        if shape is None:
            shape = image.shape[:2]
            if problem := too_small(*shape):
                raise BagError(f"{reader.path}: {chain.index.topic} from stamp {message.stamp_ns}: {problem}")
            size = working_size(*shape, settings.long_side)
        elif image.shape[:2] != shape:
            raise BagError(
                f"{reader.path}: {chain.index.topic} image at stamp {message.stamp_ns} is "
                f"{image.shape[1]}x{image.shape[0]} where its neighbours are {shape[1]}x{shape[0]} "
                "(its header gave another size)"
            )
        builder.add(shrink(image, size))
        bar.update()
    return builder.finish()


def suggest(request: SuggestRequest) -> Suggestion:
    """Check, read and choose: the ``count`` frames to label next over all bags and cameras."""
    check_request(request)
    chains, warnings = plan_chains(request)
    free = sum(chain.frames - len(chain.labeled) for chain in chains)
    if request.count > free:
        raise UsageError(f"--count {request.count} is more than the {free} frames not labeled yet")
    start = time.perf_counter()
    costs = analyse(request, chains)
    seconds = time.perf_counter() - start
    streams = [
        keyframe_choice.Stream(chain_costs, tuple(chain.labeled))
        for chain, chain_costs in zip(chains, costs, strict=True)
    ]
    return Suggestion(chains, costs, keyframe_choice.choose(streams, request.count), warnings, seconds)
