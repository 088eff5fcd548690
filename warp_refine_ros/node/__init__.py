"""The live labeler: session.py holds its logic without ROS; ros_node.py is the thin rclpy shell."""

from warp_refine_ros.node.config import (
    BeyondRadius,
    LabelOutput,
    SessionConfig,
    SessionError,
    SessionStats,
    Source,
)
from warp_refine_ros.node.session import LabelingSession

__all__ = [
    "BeyondRadius",
    "LabelOutput",
    "LabelingSession",
    "SessionConfig",
    "SessionError",
    "SessionStats",
    "Source",
]
