"""What a bag_label run records: the settings its labels depend on (dataset.json) and the run (run.json)."""

from __future__ import annotations

import functools
import importlib
import platform
from collections.abc import Mapping
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from warp_refine_ros import __version__
from warp_refine_ros.bags.output import DatasetSettings
from warp_refine_ros.bags.request import JobResult, LabelJob
from warp_refine_ros.engines.loading import EngineSet
from warp_refine_ros.labels import LabelSpec


def versions() -> dict[str, str]:
    """Versions of what produced a dataset, for run.json."""
    found = {"warp_refine_ros": __version__, "python": platform.python_version()}
    for module in ("numpy", "cv2", "onnxruntime", "rosbags", "torch", "tensorrt"):
        found |= library_version(module)
    return found


def library_version(module: str) -> dict[str, str]:
    """{distribution: version} of the installed package that provides ``module`` (cv2 comes from
    opencv-python-headless, opencv-python or a system build; a module no package provides: {module:
    its __version__}); {} when it is not installed."""
    for distribution in _distributions().get(module, []):
        try:
            return {distribution: metadata.version(distribution)}
        except metadata.PackageNotFoundError:
            continue
    try:
        return {module: str(importlib.import_module(module).__version__)}
    except (ImportError, AttributeError):
        return {}


@functools.cache
def _distributions() -> Mapping[str, list[str]]:
    """Which installed distributions provide each top-level module (a walk of site-packages: once)."""
    return metadata.packages_distributions()


RUNTIMES = {".onnx": "onnxruntime", ".pt": "torch", ".engine": "tensorrt", ".plan": "tensorrt"}
"""The library that runs an engine file of each kind."""


def label_libraries(engines: dict[str, str | None]) -> dict[str, str]:
    """The libraries whose builds change a dataset's pixels: OpenCV (optical flow, resizing, PNG and JPEG
    coding), numpy (the propagation's arithmetic) and the runtime of each engine file (``engines``: role
    -> name or file)."""
    modules = {"cv2", "numpy"} | {RUNTIMES[Path(n).suffix] for n in engines.values() if n and Path(n).suffix}
    return {name: version for module in sorted(modules) for name, version in library_version(module).items()}


def dataset_settings(job: LabelJob, spec: LabelSpec) -> DatasetSettings:
    """The settings the dataset's labels depend on, as recorded in dataset.json."""
    method = job.config.method
    named = job.engines.named()
    return DatasetSettings(
        **job.config.to_dict(),  # method, radius and tau: the run's one propagation value
        engines=job.engines.identity(method.roles),
        classes=spec.to_dict(),
        image_format=job.image_format,
        color=job.color,
        stamp=job.clock,
        libraries=label_libraries({role: named[role] for role in method.roles}),
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
