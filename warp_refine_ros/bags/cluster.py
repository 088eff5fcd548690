"""Distribute bag_label's window tasks over a Ray cluster (or a Ray started on this machine).

Workers write frame files straight to the output directory, which must be storage every node sees;
the driver appends the manifest as tasks finish, exactly as the local worker pool does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from warp_refine_ros.errors import WarpRefineError

if TYPE_CHECKING:
    from warp_refine_ros.bags.dataset import FrameFiles, ManifestRecord
    from warp_refine_ros.bags.job import Settings, WindowTask

LOCAL = "local"


def run_on_ray(
    tasks: Sequence[WindowTask], settings: Settings, files: FrameFiles, address: str, workers: int
) -> Iterator[tuple[WindowTask, Callable[[], tuple[list[ManifestRecord], dict]]]]:
    """Yield each task as it finishes with a call that returns its (records, stage times) or raises its
    error; ``address`` 'local' starts Ray here."""
    try:
        import ray
    except ImportError:
        raise WarpRefineError(
            "--ray needs Ray: pip install 'warp_refine_ros[cluster]' (or run with --workers N)"
        ) from None
    from warp_refine_ros.bags.job import worker_run

    started_here = not ray.is_initialized()
    if started_here:
        if address == LOCAL:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            try:
                ray.init(address=address, log_to_driver=False)
            except ConnectionError as err:
                raise WarpRefineError(f"cannot reach the Ray cluster at {address}: {err}") from None
    try:
        remote = ray.remote(num_cpus=1)(worker_run)
        by_ref = {remote.remote(task, settings, files): task for task in tasks}
        pending = list(by_ref)
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            yield by_ref[finished[0]], functools.partial(ray.get, finished[0])
    finally:
        if started_here:
            ray.shutdown()
