"""Warp-Refine Propagation: auto-labeling camera video from sparse human-labeled keyframes."""

__version__ = "0.1.0"
