"""Launch the live labeler: camera images and keyframe labels in, propagated label images out.

    ros2 launch warp_refine_ros label.launch.py image_topic:=/camera/image_raw \
        keyframe_topic:=/camera/keyframe_labels camera_info_topic:=/camera/camera_info \
        engines:=/path/engines.yaml method:=warp-inpaint

Settings not listed here come from params_file (config/label.yaml by default); the arguments below
override it. Outputs appear as <namespace>/labels, labels_color and confidence.
"""

from __future__ import annotations

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from warp_refine_ros.node.settings import BY_NAME

METHODS = list(BY_NAME["method"].choices)  # "" is the engine set's calibrated method


def generate_launch_description() -> LaunchDescription:
    """Declare the topics, namespace, engine set, method, radius, sim time and parameter file as launch
    arguments and start label_node with them; the node's other parameters come from params_file."""
    arguments = [
        DeclareLaunchArgument("image_topic", default_value="image", description="Camera image topic."),
        DeclareLaunchArgument(
            "keyframe_topic",
            default_value="keyframe_labels",
            description="Keyframe label topic: mono8 class ids stamped like their image.",
        ),
        DeclareLaunchArgument(
            "camera_info_topic",
            default_value="camera_info",
            description="The camera's CameraInfo topic; passed through on labels/camera_info.",
        ),
        DeclareLaunchArgument(
            "engines",
            default_value="",
            description="Engine-set YAML (motion, segmentation, refiner); empty: the shipped CPU set.",
        ),
        DeclareLaunchArgument(
            "method", default_value="", choices=METHODS, description=BY_NAME["method"].description
        ),
        DeclareLaunchArgument("radius", default_value="-1", description=BY_NAME["radius"].description),
        DeclareLaunchArgument(
            "namespace", default_value="", description="Namespace of the node and its output topics."
        ),
        DeclareLaunchArgument(
            "use_sim_time",
            default_value="false",
            choices=["true", "false"],
            description="Use /clock (true when replaying with ros2 bag play --clock).",
        ),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([FindPackageShare("warp_refine_ros"), "config", "label.yaml"]),
            description="Parameter file with the node's other settings.",
        ),
    ]
    node = Node(
        package="warp_refine_ros",
        executable="label_node",
        name="warp_refine_labeler",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        emulate_tty=True,
        parameters=[
            LaunchConfiguration("params_file"),
            {
                "engines": ParameterValue(LaunchConfiguration("engines"), value_type=str),
                "method": ParameterValue(LaunchConfiguration("method"), value_type=str),
                "radius": ParameterValue(LaunchConfiguration("radius"), value_type=int),
                "use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool),
            },
        ],
        remappings=[
            ("image", LaunchConfiguration("image_topic")),
            ("keyframe_labels", LaunchConfiguration("keyframe_topic")),
            ("camera_info", LaunchConfiguration("camera_info_topic")),
        ],
    )
    return LaunchDescription([*arguments, node])
