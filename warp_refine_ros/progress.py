"""Progress bars of every command, on stderr: redrawn in place on a terminal, a few lines in a log.

A bar redrawn for each frame or batch fills a log file or a CI job with thousands of carriage-return
states (a training bar redraws on every loss update). When stderr is not a terminal a bar writes whole
lines instead: one when it starts, at most one every ``LOG_INTERVAL_S``, and one when it ends.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm

LOG_INTERVAL_S = 30.0
"""Seconds between a bar's progress lines when stderr is not a terminal."""


def progress_bar(iterable: Iterable | None = None, *, enabled: bool = True, **options: Any) -> tqdm:
    """A tqdm bar on stderr (``options`` are tqdm's: total, desc, unit, position...); off unless
    ``enabled``. Whether stderr is a terminal decides between a live bar and rare log lines."""
    stream = sys.stderr
    kind = tqdm if _is_terminal(stream) else _LogLines
    return kind(iterable, file=stream, disable=not enabled, dynamic_ncols=True, **options)


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _LogLines(tqdm):
    """A bar written as whole lines, rarely: the first, one per ``LOG_INTERVAL_S``, and the last."""

    _last_line = -math.inf

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "leave": False})  # close() then writes no line of its own

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Write the bar's state as one line when the interval has passed or the bar is closing."""
        closing = self.disable  # close() turns the bar off before its last display
        now = time.monotonic()
        if closing or now - self._last_line >= LOG_INTERVAL_S:
            self._last_line = now
            self.fp.write(f"{self}\n")
            self.fp.flush()
        return False  # nothing on a line of its own to clear
