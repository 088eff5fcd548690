"""Cycle propagation (section 3.4, Fig. 4): the training input of the refiner Omega.

From a keyframe t, warp-inpaint l steps away (forward or backward in time) and l steps back to t.
The result L°_t has gone through exactly the transformations Psi^W chains at inference, and its
ground truth is the keyframe's own label, so no label of a non-key frame is ever needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from warp_refine_ros.propagation.propagator import Frame, Propagator


def cycle_propagate(propagator: Propagator, frames: Sequence[Frame], labels: np.ndarray) -> np.ndarray:
    """L°_t (H, W, C) from the keyframe ``frames[0]`` through ``frames[1..l]`` and back.

    ``frames`` runs away from the keyframe in one direction: t, t+1, ..., t+l for a forward cycle or
    t, t-1, ..., t-l for a backward one. With l = 0 (one frame) the keyframe's one-hot label returns.
    """
    if not frames:
        raise ValueError("cycle_propagate needs at least the keyframe")
    state = propagator.keyframe(labels)
    for source, target in pairwise(frames):  # away from t (eq. 3-5)
        state = propagator.warp_inpaint(state, source, target)
    for source, target in pairwise(frames[::-1]):  # back to t (eq. 9-11)
        state = propagator.warp_inpaint(state, source, target)
    return state
