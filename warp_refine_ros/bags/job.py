"""A bag_label run: check and plan everything, prepare the output, label what is not done, record it.

Planning (topics, stamps, keyframe matching and validation) and every check of the output folder
happen before anything is written, so bad input leaves no partial dataset. A bag that fails to read
is reported and the run goes on. The steps live in planning, execution and record; this module
puts them in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from warp_refine_ros.bags.dataset import ManifestRecord, read_manifest, write_splits
from warp_refine_ros.bags.execution import (
    PropagatorRecipe,
    build_propagator,
    execute,
    files_for,
    tasks_for,
)
from warp_refine_ros.bags.output import (
    DatasetFolder,
    StreamChange,
    bag_bytes,
    check_review_bag,
    remove_review_staging,
    replace_review_bag,
)
from warp_refine_ros.bags.planning import BagPlan, bag_recordings, check_inputs, plan_bags, unused_keyframes
from warp_refine_ros.bags.reader import BagReader, TopicSummary, bag_name
from warp_refine_ros.bags.record import dataset_settings, run_record
from warp_refine_ros.bags.request import JobResult, LabelJob, Progress
from warp_refine_ros.bags.review import write_review_bag
from warp_refine_ros.bags.stream_plan import StreamPlan, report_for
from warp_refine_ros.engines.loading import EngineSet
from warp_refine_ros.errors import IncompleteRun, UsageError, WarpRefineError
from warp_refine_ros.fileio import WriteError, write_json
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import Propagator
from warp_refine_ros.timing import StageTimes

__all__ = ["JobResult", "LabelJob", "Preview", "dry_run", "run"]


@dataclass(frozen=True)
class _Checked:
    """What every check produced: the engines, classes, propagator recipe, output folder and plans."""

    loaded: EngineSet
    spec: LabelSpec
    recipe: PropagatorRecipe
    folder: DatasetFolder
    plans: list[BagPlan]
    failures: dict[str, str]
    sizes: dict[str, int]
    recordings: dict[str, list[str]]
    changes: list[StreamChange]
    replace_review: bool


def _check(job: LabelJob, times: StageTimes) -> tuple[_Checked, Propagator]:
    """Every check before the first write: arguments, engines against the spec, output, bags."""
    check_inputs(job)
    recordings = bag_recordings(job.bags)
    loaded = job.engines.load(job.config.method.roles)
    spec = loaded.class_spec(job.spec)
    recipe = PropagatorRecipe(job.engines, job.config, spec, job.backend)
    propagator = build_propagator(recipe, times, loaded)  # engines that do not fit the spec fail here
    folder = DatasetFolder.inspect(job.out)
    folder.check_settings(dataset_settings(job, spec))
    _check_split(job, folder)
    plans, failures = plan_bags(job, spec, loaded.motion)
    sizes = {bag_name(p.bag): bag_bytes(p.bag) for p in plans}
    changes = folder.plan_changes([s for p in plans for s in p.streams], sizes, recordings)
    replace_review = check_review_bag(job.out_bag, folder) if job.out_bag is not None and plans else False
    checked = _Checked(
        loaded, spec, recipe, folder, plans, failures, sizes, recordings, changes, replace_review
    )
    return checked, propagator


def _check_split(job: LabelJob, folder: DatasetFolder) -> None:
    """--split puts whole bags on either side: refuse it before labeling when there are not two."""
    bags = {bag_name(bag) for bag in job.bags} | folder.bags
    if job.split is not None and len(bags) < 2:
        raise UsageError(
            f"--split {job.split:g} splits by bag, so that one drive never lands on both sides, and needs at "
            f"least two bags; this dataset would hold only {', '.join(sorted(bags))}. Give more bags, or "
            "leave --split out (split the frames yourself if one drive must serve both)"
        )


Validator = Callable[[list[BagPlan], LabelSpec, EngineSet, LabelJob], dict]
"""Estimates a run's label quality from its plans (keyframe cross-validation, with --validate)."""


def run(
    job: LabelJob,
    progress: Progress | None = None,
    validator: Validator | None = None,
    *,
    frames_per_task: int = 16,
) -> JobResult:
    """Label every bag of the job into job.out and write run.json; returns what happened."""
    started = time.perf_counter()
    times = StageTimes()
    with times.stage("setup"):  # engines, bag indexes, keyframe checks, the output folder
        checked, propagator = _check(job, times)
        if not checked.plans:  # every bag failed before anything was written: leave no output behind
            return JobResult([], checked.failures, times, time.perf_counter() - started, started=False)
        validation = validator(checked.plans, checked.spec, checked.loaded, job) if validator else None
        streams = [stream for p in checked.plans for stream in p.streams]
        manifest = checked.folder.prepare(
            dataset_settings(job, checked.spec), checked.spec, streams, checked.sizes, checked.recordings
        )
    reports = {(s.index.bag, s.index.topic): report_for(s) for s in streams}
    for record in manifest.records:
        if (report := reports.get((record.bag, record.topic))) is not None:
            report.frames_already_done += 1
    done = {(r.bag, r.topic, r.stamp_ns) for r in manifest.records}
    parallel = job.workers > 1 or job.ray_address is not None
    tasks = list(tasks_for(checked.plans, done, frames_per_task if parallel else 10**9))
    if progress is not None:
        progress.start({key: r.frames_planned - r.frames_already_done for key, r in reports.items()})

    def sink(record: ManifestRecord) -> None:
        manifest.append(record)
        report = reports[(record.bag, record.topic)]
        report.frames_written += 1
        report.offsets[record.offset] += 1
        if progress is not None:
            progress.update(record)

    def skipped(plan: StreamPlan, frames: dict[int, str]) -> None:
        reports[(plan.index.bag, plan.index.topic)].note_undecodable(plan, frames)

    files = files_for(job.out, checked.spec, job.config, job.image_format, job.color)
    try:
        execute(
            tasks, checked.recipe, files, sink, times, checked.failures,
            workers=job.workers, ray_address=job.ray_address, propagator=propagator, skipped=skipped,
        )  # fmt: skip
    except WriteError as err:
        written = sum(r.frames_written for r in reports.values())
        raise IncompleteRun(
            f"{err}. Free space or fix permissions and rerun the same command: the {written} frames "
            "written so far are kept and not labeled again."
        ) from err
    finally:
        if progress is not None:
            progress.close()
        manifest.close()
    seconds = time.perf_counter() - started
    result = JobResult(
        list(reports.values()), checked.failures, times, seconds, checked.changes, validation=validation,
        warnings=unused_keyframes(checked.plans),
    )  # fmt: skip
    _finish(job, checked, result)
    return result


def _finish(job: LabelJob, checked: _Checked, result: JobResult) -> None:
    """The train/val lists and the review bag of the whole dataset, then run.json (also when one of
    them could not be written: that stops the run in ``result.stopped``, the labels being written)."""
    record = run_record(job, result, checked.loaded)
    records = read_manifest(job.out / "manifest.jsonl") if job.split is not None or job.out_bag else []
    if job.split is not None:
        try:
            record["split"] = write_splits(job.out, records, job.split)
        except WarpRefineError as err:
            result.stopped.append(f"train.txt and val.txt are not written: {err}")
    if job.out_bag is not None:
        try:
            _write_review_bag(job, job.out_bag, checked, records)
        except WarpRefineError as err:
            result.stopped.append(
                f"the labels are written, but the review bag {job.out_bag} is not: {err}. Free space and "
                "rerun the same command to write it"
            )
    try:
        write_json(job.out / "run.json", record | {"stopped": result.stopped})
    except WriteError as err:
        result.stopped.append(f"{err}; the labels are written: free space and rerun the same command")


def _write_review_bag(job: LabelJob, out_bag: Path, checked: _Checked, records: list[ManifestRecord]) -> None:
    """The review bag of the whole dataset; an earlier one of this dataset is replaced only once the new
    one is complete, and staging folders an interrupted run left beside it (our names only) are cleared."""
    remove_review_staging(out_bag)

    def write(path: Path) -> None:
        write_review_bag(job.out, records, path, checked.spec, progress=job.progress)

    if checked.replace_review:
        replace_review_bag(out_bag, write)
    else:
        write(out_bag)
    checked.folder.remember_review_bag(out_bag)


@dataclass(frozen=True)
class Preview:
    """What a run would do (``--dry-run``): the plans, the bags' topics, what is done, what changes."""

    plans: list[BagPlan]
    failures: dict[str, str]
    topics: dict[Path, list[TopicSummary]]
    done: set[tuple[str, str, int]]
    changes: dict[tuple[str, str], StreamChange]
    validation: dict | None


def dry_run(job: LabelJob, validator: Validator | None = None) -> Preview:
    """Every check and plan of a run, and what it would write; writes nothing."""
    checked, _ = _check(job, StageTimes())
    topics = {}
    for bag_plan in checked.plans:
        with BagReader(bag_plan.bag) as reader:
            topics[bag_plan.bag] = list(reader.topics.values())
    return Preview(
        plans=checked.plans,
        failures=checked.failures,
        topics=topics,
        done={(r.bag, r.topic, r.stamp_ns) for r in read_manifest(job.out / "manifest.jsonl")},
        changes={(c.bag, c.topic): c for c in checked.changes},
        validation=validator(checked.plans, checked.spec, checked.loaded, job)
        if validator and checked.plans
        else None,
    )
