"""adapt_labeler's progress on disk: every finished stage's result, so a killed run picks up where it was.

Stages are named; a stage's result (plain JSON) is written atomically when it finishes, with the
seconds it took. A rerun skips finished stages and reuses their results, and the trainings inside an
unfinished stage resume from their own checkpoints, so the outcome equals an uninterrupted run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from warp_refine_ros.errors import DatasetError
from warp_refine_ros.fileio import write_json


class State:
    """Finished stages and their durations, kept in ``work/state.json``."""

    def __init__(self, path: Path, arguments: dict[str, Any]) -> None:
        self.path = path
        self.data: dict[str, Any] = {"arguments": arguments, "stages": {}, "seconds": {}}
        if path.is_file():
            found = json.loads(path.read_text(encoding="utf-8"))
            if found.get("arguments") != arguments:
                changed = sorted(
                    k for k in {*arguments, *found.get("arguments", {})}
                    if arguments.get(k) != found.get("arguments", {}).get(k)
                )  # fmt: skip
                raise DatasetError(
                    f"{path.parent.parent} holds an adaptation run with other arguments "
                    f"({', '.join(changed)}); rerun with the same arguments to go on, or use a new --out"
                )
            self.data = found

    def stage(self, name: str, run: Callable[[], Any]) -> Any:
        """The stage's stored result, or run it now and store what it returns."""
        if name in self.data["stages"]:
            return self.data["stages"][name]
        start = time.perf_counter()
        result = run()
        self.data["stages"][name] = result
        self.data["seconds"][name] = round(time.perf_counter() - start, 1)
        write_json(self.path, self.data)
        return result

    @property
    def elapsed(self) -> float:
        """Seconds spent in finished stages, over every run of this adaptation."""
        return float(sum(self.data["seconds"].values()))

    def seconds(self, name: str) -> float | None:
        return self.data["seconds"].get(name)
