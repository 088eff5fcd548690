"""Flows kept on disk for the run: every cross-validation stage after the first reads them.

adapt_labeler labels the same held-out windows with the same motion engines in every stage (the
baseline, calibration, each self-training round, Omega's checks). The flow of a pair depends on the
two images and the engine alone, so it is computed once, keyed by the images' content, and stored
under the run's work folder. What each computation took is stored with it: a setting's cost
(adaptation/cost.py) is the engine's, not the disk's.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from warp_refine_ros.engines.base import MotionEngine
from warp_refine_ros.fileio import WriteError, atomic_write

_LOG = logging.getLogger(__name__)


class FlowCache:
    """A motion engine whose flows are computed once per image pair and read back after."""

    def __init__(self, engine: MotionEngine, root: Path, motion: str) -> None:
        """Flows of ``engine``, known by its candidate name ``motion`` (``dis:fine``, a learned
        engine's file), in a folder of their own under ``root``."""
        self.engine, self.name = engine, engine.name
        self.folder = root / re.sub(r"[^A-Za-z0-9_.-]", "_", motion)
        self.seconds: list[float] = []  # compute times of this process's flows
        self.full: str | None = None  # why flows are no longer stored (a full disk), if so

    def flow(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """The engine's backward flow of ``image`` into ``reference``, computed now unless stored."""
        path = self.folder / f"{_key(image, reference)}.npy"
        if path.is_file():
            return np.load(path)
        start = time.perf_counter()
        flow = self.engine.flow(image, reference)
        seconds = time.perf_counter() - start
        self.seconds.append(seconds)
        if self.full is None:
            buffer = io.BytesIO()
            np.save(buffer, flow)
            try:
                atomic_write(path, buffer.getvalue())
                atomic_write(path.with_suffix(".seconds"), f"{seconds!r}\n".encode())
            except WriteError as err:  # a full disk costs time, not the run
                self.full = str(err)
                _LOG.warning("%s: later stages compute their flows again", err)
        return flow

    def compute_seconds(self) -> list[float]:
        """How long each flow took the engine to compute: those stored (by this run or one it resumed)
        and, once the disk is full, those computed since."""
        stored = [float(path.read_text()) for path in sorted(self.folder.glob("*.seconds"))]
        return stored + (self.seconds if self.full else [])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def _key(image: np.ndarray, reference: np.ndarray) -> str:
    """A name for the pair: a hash of both images' shapes and pixels."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (image, reference):
        digest.update(repr(array.shape).encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()
