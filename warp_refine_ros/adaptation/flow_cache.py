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
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from warp_refine_ros.engines.base import MotionEngine
from warp_refine_ros.fileio import atomic_write


class FlowCache:
    """A motion engine whose flows are computed once per image pair and read back after."""

    def __init__(self, engine: MotionEngine, root: Path, motion: str) -> None:
        """Flows of ``engine``, known by its candidate name ``motion`` (``dis:fine``, a learned
        engine's file), in a folder of their own under ``root``."""
        self.engine, self.name = engine, engine.name
        self.folder = root / re.sub(r"[^A-Za-z0-9_.-]", "_", motion)

    def flow(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """The engine's backward flow of ``image`` into ``reference``, computed now unless stored."""
        path = self.folder / f"{_key(image, reference)}.npy"
        if path.is_file():
            return np.load(path)
        start = time.perf_counter()
        flow = self.engine.flow(image, reference)
        seconds = time.perf_counter() - start
        buffer = io.BytesIO()
        np.save(buffer, flow)
        atomic_write(path, buffer.getvalue())
        atomic_write(path.with_suffix(".seconds"), f"{seconds!r}\n".encode())
        return flow

    def compute_seconds(self) -> list[float]:
        """How long each stored flow took the engine to compute (this run and any it resumed)."""
        return [float(path.read_text()) for path in sorted(self.folder.glob("*.seconds"))]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def _key(image: np.ndarray, reference: np.ndarray) -> str:
    """A name for the pair: a hash of both images' shapes and pixels."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (image, reference):
        digest.update(repr(array.shape).encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()
