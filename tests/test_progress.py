"""Progress bars: redrawn in place on a terminal; in a log, a line when a bar starts, one at most every
LOG_INTERVAL_S, and one when it ends, so a long run's log holds a few lines instead of thousands."""

from __future__ import annotations

import io

import pytest

from warp_refine_ros import progress
from warp_refine_ros.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_bar(monkeypatch: pytest.MonkeyPatch, stream: io.StringIO, steps: int = 500) -> str:
    monkeypatch.setattr("sys.stderr", stream)
    with progress_bar(total=steps, desc="work", unit="frame") as bar:
        for step in range(steps):
            bar.update()
            bar.set_postfix(loss=f"{1 / (step + 1):.4f}")  # redraws at once, whatever tqdm's mininterval
    return stream.getvalue()


def test_a_log_gets_the_first_and_the_last_line_only(monkeypatch: pytest.MonkeyPatch) -> None:
    text = run_bar(monkeypatch, io.StringIO())
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert len(lines) == 2 and text.endswith("\n")
    assert lines[0].startswith("work:   0%") and lines[1].startswith("work: 100%") and "500/500" in lines[1]


def test_a_log_gets_a_line_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "LOG_INTERVAL_S", 0.0)
    lines = run_bar(monkeypatch, io.StringIO(), steps=20).splitlines()
    assert len(lines) > 20 and all(line.startswith("work:") for line in lines)


def test_a_terminal_gets_a_live_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    text = run_bar(monkeypatch, Terminal(), steps=5)
    assert text.count("\r") >= 5 and "5/5" in text


def test_disabled_bars_print_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    assert list(progress_bar(range(3), enabled=False)) == [0, 1, 2]
    assert stream.getvalue() == ""
