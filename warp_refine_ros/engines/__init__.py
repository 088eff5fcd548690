"""Motion, segmentation and refiner engines behind one protocol each, with CPU and GPU backends."""

from warp_refine_ros.engines.base import MotionEngine, RefinerEngine, Segmentation, SegmentationEngine
from warp_refine_ros.engines.loading import EngineSet, load_motion, load_refiner, load_segmentation

__all__ = [
    "EngineSet",
    "MotionEngine",
    "RefinerEngine",
    "Segmentation",
    "SegmentationEngine",
    "load_motion",
    "load_refiner",
    "load_segmentation",
]
