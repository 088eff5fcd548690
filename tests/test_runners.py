"""Workers built once per process, then run on task after task (Ray actors: tests/bags/test_parallel.py)."""

from __future__ import annotations

from doubles import ProcessWorker

from warp_refine_ros import runners


def test_each_process_builds_its_worker_once_and_runs_every_task_on_it():
    tasks = list(range(8))
    done = {task: outcome() for task, outcome in runners.on_workers(tasks, ProcessWorker, 100, workers=2)}
    assert {task: result for task, (_, _, result) in done.items()} == {task: task + 100 for task in tasks}
    assert {built for _, built, _ in done.values()} == {1}
    assert 1 <= len({pid for pid, _, _ in done.values()}) <= 2
