"""What bag_label prints: progress bars while it writes, the summary after, and the --dry-run preview."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Mapping

from tqdm import tqdm

from warp_refine_ros.bags.dataset import ManifestRecord
from warp_refine_ros.bags.job import JobResult, LabelJob, Preview
from warp_refine_ros.bags.keyframes import camera_name
from warp_refine_ros.bags.output import StreamChange
from warp_refine_ros.bags.stream_plan import StreamReport, planning_warnings
from warp_refine_ros.progress import progress_bar


class ProgressBars:
    """One bar per (bag, camera), counting frames written toward the frames still to write."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[tuple[str, str], tqdm] = {}

    def start(self, remaining: Mapping[tuple[str, str], int]) -> None:
        for position, (key, total) in enumerate(remaining.items()):
            self.bars[key] = progress_bar(
                total=total,
                desc=f"{key[0]} {camera_name(key[1])}",
                unit="frame",
                position=position,
                enabled=self.enabled,
            )

    def update(self, record: ManifestRecord) -> None:
        self.bars[(record.bag, record.topic)].update()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def summary(result: JobResult, method: str) -> str:
    """Frames written, keyframes matched, frames by offset and what changed keyframes relabeled."""
    offsets: Counter = Counter()
    for report in result.reports:
        offsets.update(report.offsets)
    matched = sum(r.keyframes_matched for r in result.reports)
    unmatched = sum(len(r.keyframes_unmatched) for r in result.reports)
    skipped = sum(r.frames_already_done for r in result.reports)
    lines = [
        f"{method}: wrote {result.frames_written} frames in {result.seconds:.1f} s "
        f"({result.frames_written / max(result.seconds, 1e-9):.1f} frames/s)"
        + (f", {skipped} already done" if skipped else ""),
        f"keyframes: {matched} matched, {unmatched} in the bags' time span without a matching image",
    ]
    if offsets:
        lines.append("frames by offset: " + by_offset(offsets))
    lines += [f"{change.bag} {change.topic}: {describe_change(change)}" for change in result.changes]
    if result.validation:
        lines.append(describe_validation(result.validation))
    return "\n".join(lines)


def warnings(result: JobResult) -> None:
    """What a user should know on stderr, one ``warning:`` line each: images skipped for their stamps or
    because they cannot be decoded, every keyframe that labels nothing, keyframes no bag uses."""
    for line in result.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for report in result.reports:
        for line in [*report.warnings, *_undecodable(report)]:
            print(f"warning: {report.bag} {report.topic}: {line}", file=sys.stderr)


def _undecodable(report: StreamReport) -> list[str]:
    if not (frames := report.frames_undecodable):
        return []
    named = "; ".join(f"stamp {stamp}: {why}" for stamp, why in sorted(frames.items())[:3])
    return [
        f"{len(frames)} images cannot be decoded and were left out ({named}"
        + ("; ..." if len(frames) > 3 else "")
        + "); the frames on either side are labeled, propagated across the gap as if it were a dropped frame"
    ]


def preview(job: LabelJob, found: Preview) -> str:
    """The --dry-run text: topics, keyframes matched, frames to write, what a rerun changes."""
    config = job.config
    lines = [f"method {config.method}, radius {config.radius}, tau {config.tau:g}, output {job.out}"]
    for bag_plan in found.plans:
        lines.append(f"\n{bag_plan.bag}")
        lines += [f"  topic {t.name}  {t.msgtype}  {t.count} msgs" for t in found.topics[bag_plan.bag]]
        for stream in bag_plan.streams:
            index = stream.index
            change = found.changes.get((index.bag, index.topic))
            redo = change.relabel | change.unlabeled if change else frozenset()
            planned = {index.stamps[i] for w in stream.windows for i in w.written}
            already = sum(
                (index.bag, index.topic, stamp) in found.done and stamp not in redo for stamp in planned
            )
            lines.append(
                f"  camera {camera_name(index.topic)}: {len(index.stamps)} images"
                + (f" ({index.dropped} out of stamp order skipped)" if index.dropped else "")
                + (f" ({index.reordered} recorded late, put in stamp order)" if index.reordered else "")
                + (f" in {len(stream.segments)} sizes" if len(stream.segments) > 1 else "")
                + f", {len(stream.match.by_index)} keyframes matched, {len(stream.match.missed)} unmatched, "
                f"{len(planned)} frames to label ({already} already done, {len(planned) - already} to write)"
            )
            if change:
                lines.append("    " + describe_change(change))
            lines.append("    by offset: " + by_offset(Counter(stream.offsets())))
            lines += [f"    warning: {line}" for line in planning_warnings(stream)]
    if found.validation:
        lines.append("\n" + describe_validation(found.validation))
    lines += [f"\n{bag}: cannot be labeled: {error}" for bag, error in found.failures.items()]
    return "\n".join(lines)


def by_offset(frames: Mapping[int, int]) -> str:
    """Frame counts by signed offset from the keyframe: ``-1:9  +0:10  +1:10``."""
    return "  ".join(f"{offset:+d}:{count}" for offset, count in sorted(frames.items()))


def describe_validation(estimate: dict) -> str:
    """The cross-validation estimate in words: what was measured and over how many frames."""
    return (
        f"keyframe cross-validation: estimated mIoU {estimate['estimated_miou']} % "
        f"(one side alone: {estimate['estimated_one_sided_miou']} %) over "
        f"{estimate['held_out_keyframes']} held-out keyframes, each labeled from its neighbouring keyframes "
        f"a median {estimate['median_frames_travelled']:g} frames away; labels within --radius travel less "
        "far and score higher"
    )


def describe_change(change: StreamChange) -> str:
    """One line on what changed keyframes do to a stream on a rerun."""
    return (
        f"keyframes since the last run: {change.added} added, {change.changed} changed, {change.removed} "
        f"removed -> {len(change.relabel)} frames relabeled, {len(change.unlabeled)} no longer labeled"
    )
