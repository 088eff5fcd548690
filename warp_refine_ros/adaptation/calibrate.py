"""Calibration: which motion, tau and method suit this camera, chosen by keyframe cross-validation.

The grids hold the settings worth trying on any camera: DIS at three presets (and a learned motion
engine when given), trust thresholds from strict (most warps redone by g) to lenient (sensor noise
and compression make correct warps differ by tens of grey levels), and the three propagating methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from warp_refine_ros.adaptation.crossval import Candidate, Estimate, Models, cross_validate
from warp_refine_ros.adaptation.data import Keyframes
from warp_refine_ros.adaptation.flow_cache import FlowCache
from warp_refine_ros.adaptation.streams import held_out_keyframes
from warp_refine_ros.engines.base import MotionEngine
from warp_refine_ros.engines.loading import load_motion
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import DEFAULT_TAU, Method

DIS_PRESETS = ("dis:fast", "dis:medium", "dis:fine")  # ultrafast lost to fast on every family tried
TAUS = (20.0, 40.0, 80.0, 150.0, 300.0)
MOTION_ONLY_TAU = DEFAULT_TAU  # motion-only never tests the warp: its candidates carry the default


def warp_inpaint_grid(
    motions: Sequence[str],
    taus: Sequence[float] = TAUS,
    methods: Sequence[Method] = (Method.MOTION_ONLY, Method.WARP_INPAINT),
) -> list[Candidate]:
    """Motion-only for each motion engine and warp-inpaint for each motion engine and tau (of ``methods``)."""
    grid = [Candidate(Method.MOTION_ONLY, MOTION_ONLY_TAU, motion) for motion in motions]
    grid += [Candidate(Method.WARP_INPAINT, tau, motion) for motion in motions for tau in taus]
    return [candidate for candidate in grid if candidate.method in methods]


def neighbours(tau: float, taus: Sequence[float] = TAUS) -> list[float]:
    """tau and the grid values next to it: the search after the first calibration."""
    position = min(range(len(taus)), key=lambda i: abs(taus[i] - tau))
    return list(taus[max(0, position - 1) : position + 2])


def load_motions(names: Iterable[str], device: str, flows: Path) -> dict[str, MotionEngine]:
    """One motion engine per candidate motion name, each computing a flow once: in ``flows``."""
    return {name: FlowCache(load_motion(name, device=device), flows, name) for name in dict.fromkeys(names)}


def estimate(
    keyframes: Keyframes,
    candidates: Sequence[Candidate],
    spec: LabelSpec,
    motions: dict[str, MotionEngine],
    models: dict[str, Models],
    *,
    radius: int,
    progress: bool,
    description: str,
) -> list[Estimate]:
    """Cross-validate candidates, each held-out keyframe labeled by the models of the part without it."""
    windows = held_out_keyframes(keyframes.streams, radius)
    return cross_validate(
        windows,
        [c for c in candidates if c.motion in motions],
        spec,
        motions,
        lambda window: models[keyframes.model_for(window)],
        progress=progress,
        description=description,
    )
