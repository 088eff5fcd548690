"""The callback-to-worker queue and the /diagnostics report, without ROS."""

from __future__ import annotations

import threading

import pytest

from warp_refine_ros.node import SessionStats
from warp_refine_ros.node.health import Health, LatencyWindow, Level
from warp_refine_ros.node.inbox import Inbox


def test_a_full_inbox_drops_the_oldest_image_and_counts_it():
    inbox: Inbox[str] = Inbox(capacity=2)
    assert [inbox.put_frame(name) for name in ("a", "b", "c", "d")] == [False, False, True, True]
    assert (inbox.dropped, inbox.waiting) == (2, 2)
    assert [inbox.get(timeout=0).message for _ in range(2)] == ["c", "d"]
    assert inbox.get(timeout=0) is None


def test_keyframe_labels_are_never_dropped_and_come_first():
    inbox: Inbox[str] = Inbox(capacity=1)
    inbox.put_frame("image 1")
    for index in range(5):
        inbox.put_keyframe(f"label {index}")
    inbox.put_frame("image 2")
    got = [inbox.get(timeout=0) for _ in range(6)]
    assert [d.message for d in got] == [*(f"label {i}" for i in range(5)), "image 2"]
    assert [d.keyframe for d in got] == [True] * 5 + [False]
    assert inbox.dropped == 1


def test_a_restart_drops_the_images_before_it_and_holds_the_rest_until_it_is_taken():
    inbox: Inbox[int] = Inbox(capacity=4)
    inbox.put_frame(1)
    inbox.put_frame(2)
    inbox.put_keyframe(3)
    results = []
    worker = threading.Thread(target=lambda: results.append(inbox.get(timeout=10)))
    worker.start()  # takes the keyframe label
    worker.join(timeout=5)
    waiting = threading.Thread(target=lambda: results.append(inbox.get(timeout=10)))
    inbox.restart("clock jumped")
    waiting.start()
    waiting.join(timeout=5)  # a restart wakes the labeling thread at once and hands it nothing
    inbox.put_frame(4)  # after the jump
    assert [d and d.message for d in results] == [3, None] and inbox.get(timeout=0) is None
    assert inbox.take_restart() == "clock jumped" and inbox.take_restart() is None
    assert inbox.get(timeout=0).message == 4 and inbox.get(timeout=0) is None


def test_closing_wakes_the_worker():
    inbox: Inbox[int] = Inbox(capacity=4)
    results = []
    worker = threading.Thread(target=lambda: results.append(inbox.get(timeout=10)))
    worker.start()
    inbox.close()
    worker.join(timeout=5)
    assert not worker.is_alive() and results == [None]
    with pytest.raises(ValueError, match="at least 1"):
        Inbox(capacity=0)


def test_latency_window_reports_median_p99_and_max_in_ms():
    window = LatencyWindow(size=100)
    assert window.summary() == {}
    for ms in range(1, 201):  # only the last 100 stay: 101..200 ms
        window.add(ms / 1000)
    summary = window.summary()
    assert summary["median_ms"] == pytest.approx(150.5)
    assert summary["p99_ms"] == pytest.approx(199.01)
    assert summary["max_ms"] == pytest.approx(200.0)


def test_health_warns_when_frames_are_dropped_and_recovers():
    now = [100.0]
    health = Health(hold_s=10.0, clock=lambda: now[0])
    stats = SessionStats(frames=10, published=8)
    health.record(0.050, 0.040)
    first = health.report(stats, queue_dropped=0, buffered=5, relabeling=True, waiting=2)
    assert first.level is Level.OK and first.message == "labeling, p99 latency 50 ms"
    values = dict(first.values)
    assert (values["frames"], values["buffered_frames"], values["latency_p99_ms"]) == ("10", "5", "50.0")
    assert (values["relabeling"], values["images_waiting"]) == ("yes", "2")
    dropped = health.report(stats, queue_dropped=3, buffered=5)
    assert dropped.level is Level.WARN and "dropped 3 frames" in dropped.message
    assert dict(dropped.values)["frames_dropped"] == "3"
    stats.keyframes_too_old += 1
    late = health.report(stats, queue_dropped=3, buffered=5)
    assert late.level is Level.WARN and "too_old +1" in late.message
    now[0] += 9.0  # nothing new, but a monitor sampling now still sees the problem
    held = health.report(stats, queue_dropped=3, buffered=5)
    assert held.level is Level.WARN and held.message == f"{late.message} (9 s ago)"
    now[0] += 1.0
    assert health.report(stats, queue_dropped=3, buffered=5).level is Level.OK
