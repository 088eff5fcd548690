"""Independent tasks run in worker processes on this machine or over a Ray cluster, one way for both.

Workers are spawned, not forked: engines and their thread pools (OpenMP, ONNX Runtime) do not survive
a fork. Each runner yields every task, as it finishes, with a call that returns its result or raises
the error the task raised, so the caller decides what a failed task means.
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

from warp_refine_ros.errors import WarpRefineError

Task = TypeVar("Task")
Outcome = Callable[[], Any]
LOCAL = "local"  # the Ray address that starts Ray on this machine


def in_processes(
    tasks: Sequence[Task],
    worker: Callable[..., Any],
    *args: Any,
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
) -> Iterator[tuple[Task, Outcome]]:
    """``worker(task, *args)`` for every task in ``workers`` spawned processes."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=initializer, initargs=initargs) as pool:
        futures = {pool.submit(worker, task, *args): task for task in tasks}
        for future in as_completed(futures):
            yield futures[future], future.result


def on_ray(
    tasks: Sequence[Task], worker: Callable[..., Any], *args: Any, address: str, workers: int
) -> Iterator[tuple[Task, Outcome]]:
    """``worker(task, *args)`` for every task on a Ray cluster; ``address`` LOCAL starts Ray here
    with ``workers`` CPUs. Workers must see the same files as this process."""
    try:
        import ray
    except ImportError as err:
        raise WarpRefineError(
            "--ray needs Ray: pip install 'warp_refine_ros[cluster]' (or run with --workers N)"
        ) from err
    started_here = not ray.is_initialized()
    if started_here:
        if address == LOCAL:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            try:
                ray.init(address=address, log_to_driver=False)
            except ConnectionError as err:
                raise WarpRefineError(f"cannot reach the Ray cluster at {address}: {err}") from err
    try:
        remote = ray.remote(num_cpus=1)(worker)
        by_ref = {remote.remote(task, *args): task for task in tasks}
        pending = list(by_ref)
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            yield by_ref[finished[0]], functools.partial(ray.get, finished[0])
    finally:
        if started_here:
            ray.shutdown()
