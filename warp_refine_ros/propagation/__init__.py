"""Label propagation on arrays only: warp, trust mask, inpaint, refine, the +-K rule, cycles. No I/O."""

from warp_refine_ros.propagation.core import KeyframePropagation, Slot, Source, nearest_stamp
from warp_refine_ros.propagation.cycle import CycleEnd, cycles
from warp_refine_ros.propagation.keyframe_plan import Assignment, KeyframeWindow, Reach
from warp_refine_ros.propagation.labelings import Labeling, fuse
from warp_refine_ros.propagation.methods import Method
from warp_refine_ros.propagation.propagator import SEMANTIC_CONFIDENCE, Frame, Propagator, Track
from warp_refine_ros.propagation.stream import LabeledFrame, StreamLabeler
from warp_refine_ros.propagation.trust import DEFAULT_TAU, trust_mask
from warp_refine_ros.propagation.warp import (
    SamplingMap,
    sampling_map,
    warp_image,
    warp_probabilities,
)

__all__ = [
    "DEFAULT_TAU",
    "SEMANTIC_CONFIDENCE",
    "Assignment",
    "CycleEnd",
    "Frame",
    "KeyframePropagation",
    "KeyframeWindow",
    "LabeledFrame",
    "Labeling",
    "Method",
    "Propagator",
    "Reach",
    "SamplingMap",
    "Slot",
    "Source",
    "StreamLabeler",
    "Track",
    "cycles",
    "fuse",
    "nearest_stamp",
    "sampling_map",
    "trust_mask",
    "warp_image",
    "warp_probabilities",
]
