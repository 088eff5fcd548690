"""Label propagation on arrays only: warp, trust mask, inpaint, refine, scheduling, cycles. No I/O."""

from warp_refine_ros.propagation.core import KeyframePropagation, Slot
from warp_refine_ros.propagation.cycle import cycle_propagate
from warp_refine_ros.propagation.labelings import Labeling, fuse
from warp_refine_ros.propagation.methods import Method
from warp_refine_ros.propagation.propagator import SEMANTIC_CONFIDENCE, Frame, Propagator, Track
from warp_refine_ros.propagation.schedule import Assignment, Reach, plan
from warp_refine_ros.propagation.trust import DEFAULT_TAU, trust_mask
from warp_refine_ros.propagation.warp import (
    SamplingMap,
    sampling_map,
    warp_image,
    warp_probabilities,
)
from warp_refine_ros.propagation.window import LabeledFrame, WindowLabeler

__all__ = [
    "DEFAULT_TAU",
    "SEMANTIC_CONFIDENCE",
    "Assignment",
    "Frame",
    "KeyframePropagation",
    "LabeledFrame",
    "Labeling",
    "Method",
    "Propagator",
    "Reach",
    "SamplingMap",
    "Slot",
    "Track",
    "WindowLabeler",
    "cycle_propagate",
    "fuse",
    "plan",
    "sampling_map",
    "trust_mask",
    "warp_image",
    "warp_probabilities",
]
