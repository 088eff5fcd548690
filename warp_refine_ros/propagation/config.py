"""The propagation settings as one frozen, validated value: method, radius K and trust threshold tau."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from warp_refine_ros.errors import WarpRefineError
from warp_refine_ros.propagation.methods import Method
from warp_refine_ros.propagation.trust import DEFAULT_TAU

DEFAULT_RADIUS = 10  # frames labeled on each side of a keyframe


class ConfigError(WarpRefineError, ValueError):
    """A propagation setting that cannot work; the message names it and what is allowed."""


@dataclass(frozen=True)
class PropagationConfig:
    """How keyframe labels travel: the step Psi (method), how far (radius), what warp is trusted (tau)."""

    method: Method = field(default_factory=Method.default)
    radius: int = DEFAULT_RADIUS
    tau: float = DEFAULT_TAU

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "method", Method.parse(self.method))
        except ValueError as err:
            raise ConfigError(str(err)) from err
        if isinstance(self.radius, bool) or not isinstance(self.radius, int) or self.radius < 0:
            raise ConfigError(f"radius must be 0 or more frames, got {self.radius!r}")
        if (
            isinstance(self.tau, bool)
            or not isinstance(self.tau, int | float)
            or not (math.isfinite(self.tau) and self.tau > 0)
        ):
            raise ConfigError(f"tau must be a positive RGB distance (e.g. {DEFAULT_TAU:g}), got {self.tau!r}")
        object.__setattr__(self, "tau", float(self.tau))

    @classmethod
    def found_in(cls, settings: Mapping[str, Any], source: str) -> PropagationConfig:
        """The settings named in ``source`` (an engine set's calibrated method, radius and tau), the
        defaults for the rest; a ConfigError names the source."""
        try:
            return cls(**settings)
        except (ConfigError, TypeError) as err:
            raise ConfigError(f"{source}: {err}") from err

    def with_changes(self, **changes: Any) -> PropagationConfig:
        """A copy with some settings changed (and checked); None leaves a setting as it is."""
        known = {f.name for f in fields(self)}
        if unknown := set(changes) - known:
            raise ConfigError(f"unknown propagation settings {sorted(unknown)}; known: {sorted(known)}")
        return replace(self, **{name: value for name, value in changes.items() if value is not None})

    def to_dict(self) -> dict[str, Any]:
        """Plain values for YAML and JSON records."""
        return {"method": str(self.method), "radius": self.radius, "tau": self.tau}
