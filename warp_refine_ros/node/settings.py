"""The live node's parameters: one table that the rclpy shell declares and the help text lists.

Each parameter has a type, a default, a description and whether it may change at run time. Only
``method``, ``radius`` and ``tau`` may (they swap the propagator, not the engines); everything else is
read when the node starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from warp_refine_ros.engines.loading import EngineSet, default_engines
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.node.config import BeyondRadius, SessionConfig, SessionError
from warp_refine_ros.propagation import DEFAULT_TAU, Method
from warp_refine_ros.propagation.config import ConfigError, PropagationConfig

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class Parameter:
    """One node parameter: its name, default (which fixes its type), meaning and limits."""

    name: str
    default: str | int | float | bool
    description: str
    dynamic: bool = False  # may change while the node runs
    choices: tuple[str, ...] = ()
    minimum: int | float | None = None
    exclusive: bool = False  # the value must exceed the minimum, not just reach it

    @property
    def type_name(self) -> str:
        return type(self.default).__name__

    @property
    def constraints(self) -> str:
        """The limits in words, as ROS 2 shows them in ``ros2 param describe``."""
        if self.choices:
            return "one of: " + ", ".join(choice or '""' for choice in self.choices)
        if self.minimum is not None:
            return f"{'>' if self.exclusive else '>='} {self.minimum}"
        return ""


_DEFAULTS = SessionConfig()
FROM_ENGINE_SET = {"method": "", "radius": -1, "tau": 0.0}
"""Values of the propagation parameters that mean: the engine set's calibrated value, else the default."""

PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "engines",
        "",
        "Engine-set YAML (motion, segmentation, refiner files; paths relative to it). "
        "Empty: the shipped CPU set, config/engines/default.yaml.",
    ),
    Parameter("device", "cpu", "Device the engines run on: cpu, cuda or cuda:N."),
    Parameter(
        "classes",
        "",
        "Class-spec YAML. Empty: the segmentation engine's classes, else Cityscapes' 19.",
    ),
    Parameter(
        "method",
        FROM_ENGINE_SET["method"],
        f"Propagation step between frames. Empty: the engine set's (as adapt_labeler calibrated it), else "
        f"{_DEFAULTS.propagation.method}.",
        dynamic=True,
        choices=("", *(m.value for m in Method)),
    ),
    Parameter(
        "radius",
        FROM_ENGINE_SET["radius"],
        f"K: frames labeled after (forward) and before (backward) each keyframe. -1: the engine set's, else "
        f"{_DEFAULTS.propagation.radius}.",
        dynamic=True,
        minimum=-1,
    ),
    Parameter(
        "tau",
        FROM_ENGINE_SET["tau"],
        "Trust-mask threshold: RGB distance (0-255 scale) under which the warp is trusted. 0: the engine "
        f"set's, else {DEFAULT_TAU:g}.",
        dynamic=True,
        minimum=0,
    ),
    Parameter(
        "beyond_radius",
        str(_DEFAULTS.beyond_radius),
        "Frames further than radius from every keyframe: 'semantic' publishes the segmentation "
        "engine's labels (pixels under 0.9 confidence ignored), 'none' publishes nothing.",
        choices=tuple(b.value for b in BeyondRadius),
    ),
    Parameter(
        "buffer_size",
        _DEFAULTS.buffer_size,
        "Frames kept with their motion and segmentation, so a keyframe label may arrive this many "
        "frames late and still label the frames around it.",
        minimum=1,
    ),
    Parameter(
        "stamp_tolerance",
        _DEFAULTS.stamp_tolerance_ns / NS_PER_S,
        "Seconds between a keyframe label's stamp and its image's for them to match.",
        minimum=0,
    ),
    Parameter(
        "max_gap",
        _DEFAULTS.max_gap_ns / NS_PER_S,
        "Seconds without frames after which propagation starts over (0: never).",
        minimum=0,
    ),
    Parameter(
        "keyframe_memory",
        _DEFAULTS.keyframe_memory,
        "Keyframe labels remembered by stamp: labels that arrive before their image wait here, "
        "and a replayed bag (ros2 bag play --loop) is labeled again.",
        minimum=0,
    ),
    Parameter("use_compressed", False, "Subscribe to sensor_msgs/CompressedImage on 'image'."),
    Parameter(
        "image_queue_size",
        10,
        "Images waiting to be labeled (while a late keyframe's frames are relabeled, say); when it is "
        "full the oldest is dropped, counted and logged.",
        minimum=1,
    ),
    Parameter("keyframe_queue_size", 100, "Depth of the keyframe label subscription.", minimum=1),
    Parameter("publish_queue_size", 10, "Depth of the label publishers.", minimum=1),
    Parameter("publish_color", True, "Publish 'labels_color', the class colours over the image."),
    Parameter("publish_confidence", True, "Publish 'confidence', 255 = certain."),
    Parameter("diagnostics_period", 1.0, "Seconds between /diagnostics messages.", minimum=0, exclusive=True),
)

BY_NAME = {parameter.name: parameter for parameter in PARAMETERS}


@dataclass(frozen=True)
class NodeSettings:
    """The node's parameters, checked, with the session's part as a SessionConfig."""

    engines: str
    device: str
    classes: str
    use_compressed: bool
    image_queue_size: int
    keyframe_queue_size: int
    publish_queue_size: int
    publish_color: bool
    publish_confidence: bool
    diagnostics_period: float
    session: SessionConfig
    defaults: PropagationConfig  # the engine set's method, radius and tau, for run-time changes


def check(name: str, value: object) -> object:
    """The value if it suits the parameter, else a SessionError saying what is allowed."""
    parameter = BY_NAME.get(name)
    if parameter is None:
        raise SessionError(f"unknown parameter {name!r}")
    expected = type(parameter.default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not expected:
        raise SessionError(f"parameter {name} must be of type {parameter.type_name}, got {value!r}")
    if parameter.choices and value not in parameter.choices:
        raise SessionError(f"parameter {name} = {value!r}; {parameter.constraints}")
    minimum = parameter.minimum
    if minimum is not None and (value < minimum or (parameter.exclusive and value == minimum)):
        raise SessionError(f"parameter {name} = {value!r}; must be {parameter.constraints}")
    return value


def session_changes(
    values: Mapping[str, object], defaults: PropagationConfig | None = None
) -> dict[str, object]:
    """SessionConfig fields for the given parameter values (checked), e.g. after a run-time change;
    a propagation parameter at its 'from the engine set' value takes ``defaults``' value."""
    changes: dict[str, object] = {}
    for name, value in values.items():
        value = check(name, value)
        if name in FROM_ENGINE_SET and value == FROM_ENGINE_SET[name]:
            value = getattr(defaults or _DEFAULTS.propagation, name)
        if name in ("method", "radius", "tau", "beyond_radius", "buffer_size", "keyframe_memory"):
            changes[name] = value
        elif name == "stamp_tolerance":
            changes["stamp_tolerance_ns"] = round(value * NS_PER_S)
        elif name == "max_gap":
            changes["max_gap_ns"] = round(value * NS_PER_S)
    return changes


def settings(values: Mapping[str, object]) -> NodeSettings:
    """All parameters, defaults filled in and checked, as NodeSettings."""
    merged = {parameter.name: parameter.default for parameter in PARAMETERS} | dict(values)
    checked = {name: check(name, value) for name, value in merged.items()}
    defaults = engine_set_defaults(_engine_set(checked["engines"]))
    session = SessionConfig().with_changes(**session_changes(checked, defaults))
    return NodeSettings(
        engines=checked["engines"],
        device=checked["device"],
        classes=checked["classes"],
        use_compressed=checked["use_compressed"],
        image_queue_size=checked["image_queue_size"],
        keyframe_queue_size=checked["keyframe_queue_size"],
        publish_queue_size=checked["publish_queue_size"],
        publish_color=checked["publish_color"],
        publish_confidence=checked["publish_confidence"],
        diagnostics_period=checked["diagnostics_period"],
        session=session,
        defaults=defaults,
    )


def engine_set_defaults(path: Path) -> PropagationConfig:
    """The method, radius and tau of runs with an engine set (adapt_labeler's calibration), checked."""
    try:
        return PropagationConfig.found_in(EngineSet.settings_in_yaml(path), f"engine set {path}")
    except ConfigError as err:
        raise SessionError(str(err)) from err


def describe() -> str:
    """The parameter table as text, for ``label_node --help``."""
    lines = []
    for parameter in PARAMETERS:
        default = repr(parameter.default) if isinstance(parameter.default, str) else parameter.default
        flags = ", changeable at run time" if parameter.dynamic else ""
        limits = f"; {parameter.constraints}" if parameter.constraints else ""
        lines.append(f"  {parameter.name} ({parameter.type_name}, default {default}{flags}{limits})")
        lines.append(f"      {parameter.description}")
    return "\n".join(lines)


def engine_set_path(node_settings: NodeSettings) -> Path:
    """The engine-set YAML to load: the ``engines`` parameter, or the shipped default set."""
    return _engine_set(node_settings.engines)


def _engine_set(parameter: str) -> Path:
    """The ``engines`` parameter's file, or the shipped default set when it is empty."""
    return Path(parameter) if parameter else default_engines()


def open_engines(node_settings: NodeSettings) -> tuple[EngineSet, LabelSpec]:
    """Load the engines once, at start-up, and the class spec; a missing file fails with its path."""
    engines = EngineSet.from_yaml(engine_set_path(node_settings), device=node_settings.device)
    given = LabelSpec.from_yaml(node_settings.classes) if node_settings.classes else None
    return engines, engines.class_spec(given)
