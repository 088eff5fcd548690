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
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from warp_refine_ros.engines.base import MotionEngine
from warp_refine_ros.fileio import WriteError, atomic_write

_LOG = logging.getLogger(__name__)
FREE_BYTES = 2 << 30  # flows are stored only while this much disk stays free for the run's other files


class FlowCache:
    """A motion engine whose flows are computed once per image pair and read back after."""

    def __init__(self, engine: MotionEngine, root: Path, motion: str) -> None:
        """Flows of ``engine``, known by its candidate name ``motion`` (``dis:fine``, a learned
        engine's file), in a folder of their own under ``root``."""
        self.engine, self.name = engine, engine.name
        self.folder = root / _folder_name(motion)
        self.unstored: list[float] = []  # compute times of the flows not stored (the disk ran low)
        self.stopped: str | None = None  # why flows are no longer stored, if so

    def flow(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """The engine's backward flow of ``image`` into ``reference``, computed now unless stored."""
        path = self.folder / f"{_key(image, reference)}.npy"
        if (stored := _load(path)) is not None:
            return stored
        start = time.perf_counter()
        flow = self.engine.flow(image, reference)
        seconds = time.perf_counter() - start
        if self.stopped is None:
            self._store(path, flow, seconds)
        if self.stopped is not None:
            self.unstored.append(seconds)
        return flow

    def compute_seconds(self) -> list[float]:
        """How long each flow took the engine to compute: those stored (by this run or one it resumed)
        and those computed since the disk ran low."""
        stored = [float(path.read_text()) for path in sorted(self.folder.glob("*.seconds"))]
        return stored + self.unstored

    def _store(self, path: Path, flow: np.ndarray, seconds: float) -> None:
        """The flow and its compute time (first: a flow file always has its time); stops storing, with
        one warning, where less than FREE_BYTES would be left for the run's models and records."""
        buffer = io.BytesIO()
        np.save(buffer, flow)
        data = buffer.getvalue()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if shutil.disk_usage(self.folder).free - len(data) < FREE_BYTES:
                raise WriteError(f"cannot write {path}: less than {FREE_BYTES >> 30} GiB would be left free")
            atomic_write(path.with_suffix(".seconds"), f"{seconds!r}\n".encode())
            atomic_write(path, data)
        except (OSError, WriteError) as err:
            path.with_suffix(".seconds").unlink(missing_ok=True)  # its time is counted as not stored
            self.stopped = str(err)
            _LOG.warning("%s: flows are no longer stored; later stages compute them again", err)

    def __getattr__(self, name: str) -> Any:
        if name == "engine":  # not set yet (a copy being built): no engine to ask
            raise AttributeError(name)
        return getattr(self.engine, name)


def _load(path: Path) -> np.ndarray | None:
    """A stored flow, or None where there is none or it cannot be read (it is computed again)."""
    try:
        return np.load(path)
    except (OSError, ValueError, EOFError):
        return None


def _folder_name(motion: str) -> str:
    """A folder for one motion name: readable, and distinct even where two names read alike."""
    digest = hashlib.blake2b(motion.encode(), digest_size=4).hexdigest()
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', motion)[-40:]}-{digest}"


def _key(image: np.ndarray, reference: np.ndarray) -> str:
    """A name for the pair: a hash of both images' shapes and pixels."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (image, reference):
        digest.update(repr(array.shape).encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()
