"""Cycle labels of every length from one keyframe in one pass (section 3.4, Fig. 4).

``cycle_propagate`` runs l steps of warp-inpaint away from the keyframe and l back. For all lengths
1..L the steps away are shared, so they are run once; each cycle then walks back on its own. The
result for length l is exactly ``cycle_propagate(propagator, frames[: l + 1], labels)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from warp_refine_ros.propagation import Frame, Propagator


def cycles_by_length(propagator: Propagator, frames: Sequence[Frame], labels: np.ndarray) -> list[np.ndarray]:
    """L°_t (H, W, C) for l = 1..len(frames) - 1; ``frames`` runs away from the keyframe ``frames[0]``."""
    state = propagator.keyframe(labels)  # eq. 2
    away = []
    for source, target in pairwise(frames):  # forward stage, eq. 3-5
        state = propagator.warp_inpaint(state, source, target)
        away.append(state)
    cycles = []
    for length, state in enumerate(away, start=1):
        for source, target in pairwise(frames[length::-1]):  # backward stage, eq. 9-11
            state = propagator.warp_inpaint(state, source, target)
        cycles.append(state)
    return cycles
