"""What a bag_label run is asked to do, and what came of it: plain values the CLI fills and reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from warp_refine_ros.bags.dataset import ManifestRecord
from warp_refine_ros.bags.output import StreamChange
from warp_refine_ros.bags.stream_plan import StreamReport
from warp_refine_ros.engines.loading import EngineSources
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.config import PropagationConfig
from warp_refine_ros.timing import StageTimes


@dataclass
class LabelJob:
    """Everything a bag_label run needs; the CLI fills it from arguments."""

    bags: list[Path]
    image_topics: list[str]
    out: Path
    engines: EngineSources
    labels_dir: Path | None = None
    label_topics: list[str] = field(default_factory=list)
    config: PropagationConfig = field(default_factory=PropagationConfig)
    backend: str | None = None  # propagation arrays: numpy, torch (None: torch with a GPU, else numpy)
    spec: LabelSpec | None = None
    stamp_tolerance_ms: float = 0.0
    clock: str = "header"  # which stamp names frames and keyframes: "header", or "log" (recording time)
    image_format: str = "png"
    color: bool = False
    workers: int = 1
    ray_address: str | None = None  # runners.LOCAL for a Ray started on this machine
    split: float | None = None  # validation fraction: write train/val lists by bag
    out_bag: Path | None = None  # review bag (.mcap) of the whole dataset
    progress: bool = True  # progress bars of the steps that draw their own (cross-validation, review bag)
    arguments: dict = field(default_factory=dict)  # as given on the command line, for run.json


class Progress(Protocol):
    """Where a run reports frames as they are written (the CLI draws bars)."""

    def start(self, remaining: Mapping[tuple[str, str], int]) -> None:
        """Frames still to write per (bag, topic)."""

    def update(self, record: ManifestRecord) -> None:
        """One frame written."""

    def close(self) -> None: ...


@dataclass
class JobResult:
    """Per-stream reports, failed bags and timings of a run."""

    reports: list[StreamReport]
    failures: dict[str, str]
    times: StageTimes
    seconds: float
    changes: list[StreamChange] = field(default_factory=list)  # streams relabeled for changed keyframes
    started: bool = True  # False when every bag failed before anything was written
    warnings: list[str] = field(default_factory=list)  # of the whole run (keyframes no bag uses)
    stopped: list[str] = field(default_factory=list)  # what could not be written after the labels
    validation: dict | None = None  # the keyframe cross-validation estimate, with --validate

    @property
    def frames_written(self) -> int:
        return sum(report.frames_written for report in self.reports)


Sink = Callable[[ManifestRecord], None]
