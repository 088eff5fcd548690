"""Independent tasks run in worker processes on this machine or over a Ray cluster, one way for both.

A worker that holds engines is an object built once in each process and run on task after task
(:func:`on_workers`): a Ray actor, or the one worker a pool process keeps, so engines load once per
process.

Workers are spawned, not forked: engines and their thread pools (OpenMP, ONNX Runtime) do not survive
a fork. Each runner yields every task, as it finishes, with a call that returns its result or raises
the error the task raised, so the caller decides what a failed task means.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from warp_refine_ros.errors import WarpRefineError

Task = TypeVar("Task")
TaskT = TypeVar("TaskT", contravariant=True)  # what a Worker takes
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


class Worker(Protocol[TaskT]):
    """What serves tasks in one worker process: built there once (its engines loaded once), then run on
    one task after another."""

    def run(self, task: TaskT) -> Any: ...


def on_workers(
    tasks: Sequence[TaskT],
    worker_type: Callable[..., Worker[TaskT]],
    *args: Any,
    workers: int,
    ray_address: str | None = None,
) -> Iterator[tuple[TaskT, Outcome]]:
    """``worker_type(*args)`` built once in each worker, then ``worker.run(task)`` for every task: in
    ``workers`` spawned processes, or in Ray actors at ``ray_address`` (LOCAL starts Ray here with
    ``workers`` CPUs; a cluster gets an actor per CPU). Workers must see the same files as this process."""
    if ray_address is None:
        yield from in_processes(
            tasks, _run_served, workers=workers, initializer=_serve, initargs=(worker_type, args)
        )
        return
    with _ray(ray_address, workers) as ray:
        actor_type = ray.remote(num_cpus=1)(worker_type)
        count = workers if ray_address == LOCAL else int(ray.cluster_resources().get("CPU", workers))
        waiting = iter(tasks)
        running: dict[Any, tuple[Any, TaskT]] = {}

        def give(actor: Any) -> None:
            for task in itertools.islice(waiting, 1):
                running[actor.run.remote(task)] = (actor, task)

        for _ in range(max(1, min(count, len(tasks)))):
            give(actor_type.remote(*args))
        while running:
            (finished,), _ = ray.wait(list(running), num_returns=1)
            actor, task = running.pop(finished)
            give(actor)
            yield task, functools.partial(ray.get, finished)


_served: Worker | None = None
"""The worker a spawned pool process serves its tasks with: a pool keeps per-process state here."""


def _serve(worker_type: Callable[..., Worker], args: tuple) -> None:
    global _served
    _served = worker_type(*args)


def _run_served(task: Any) -> Any:
    if _served is None:
        raise RuntimeError("a pool process ran a task before its worker was built")
    return _served.run(task)


@contextmanager
def _ray(address: str, workers: int) -> Iterator[Any]:
    """The ray module, connected to ``address`` (LOCAL: started here) for the duration."""
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
        yield ray
    finally:
        if started_here:
            ray.shutdown()
