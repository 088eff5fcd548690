"""What a bag_label run records: the settings its labels depend on (dataset.json) and the run (run.json)."""

from __future__ import annotations

import platform
from dataclasses import asdict
from importlib import metadata

from warp_refine_ros import __version__
from warp_refine_ros.bags.output import DatasetSettings
from warp_refine_ros.bags.request import JobResult, LabelJob
from warp_refine_ros.engines.loading import EngineSet
from warp_refine_ros.labels import LabelSpec


def versions() -> dict[str, str]:
    """Versions of what produced a dataset, for run.json."""
    found = {"warp_refine_ros": __version__, "python": platform.python_version()}
    for package in ("numpy", "opencv-python-headless", "onnxruntime", "rosbags", "torch", "tensorrt"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def dataset_settings(job: LabelJob, spec: LabelSpec) -> DatasetSettings:
    """The settings the dataset's labels depend on, as recorded in dataset.json."""
    method = job.config.method
    return DatasetSettings(
        method=str(method),
        radius=job.config.radius,
        tau=job.config.tau,
        engines=job.engines.identity(method.roles),
        classes=spec.to_dict(),
        image_format=job.image_format,
        color=job.color,
    )


def run_record(job: LabelJob, result: JobResult, engines: EngineSet) -> dict:
    """run.json: arguments, versions, engines, per-stage timings and per-stream outcomes."""
    frames = max(result.frames_written, 1)
    return {
        "arguments": job.arguments,
        **job.config.to_dict(),
        "versions": versions(),
        "engines": {"sources": asdict(job.engines), "loaded": engines.describe()},
        "timings": {
            "seconds": round(result.seconds, 3),
            "frames_written": result.frames_written,
            "frames_per_second": round(result.frames_written / max(result.seconds, 1e-9), 3),
            # after setup (engine loading, bag indexing): the rate a long bag runs at
            "labeling_frames_per_second": round(
                result.frames_written / max(result.seconds - result.times.seconds["setup"], 1e-9), 3
            ),
            "stages": result.times.summary(),
            "ms_per_written_frame": {
                name: round(1000 * seconds / frames, 3) for name, seconds in result.times.seconds.items()
            },
        },
        "streams": [
            asdict(report) | {"offsets": {str(k): v for k, v in sorted(report.offsets.items())}}
            for report in result.reports
        ],
        "failures": result.failures,
        **({"validation": result.validation} if result.validation else {}),
    }
