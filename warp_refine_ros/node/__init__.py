"""The live labeler: session.py holds its logic without ROS; ros_node.py is the thin rclpy shell."""

from warp_refine_ros.node.session import (
    BeyondRadius,
    LabelingSession,
    LabelOutput,
    SessionConfig,
    SessionError,
    SessionStats,
    Source,
)

__all__ = [
    "BeyondRadius",
    "LabelOutput",
    "LabelingSession",
    "SessionConfig",
    "SessionError",
    "SessionStats",
    "Source",
]
