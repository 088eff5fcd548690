"""The node's parameter table, its checks, the shipped params file and engine loading at start-up."""

from __future__ import annotations

import pytest
import yaml

from warp_refine_ros.engines.dis import DisMotion
from warp_refine_ros.errors import EngineError
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.node import BeyondRadius, SessionConfig, SessionError
from warp_refine_ros.node.settings import (
    PARAMETERS,
    describe,
    engine_set_path,
    open_engines,
    session_changes,
    settings,
)
from warp_refine_ros.propagation import Method
from warp_refine_ros.propagation.config import PropagationConfig
from warp_refine_ros.resources import share_path


def test_defaults_make_the_default_session():
    node = settings({})
    assert node.session == SessionConfig()
    assert (node.engines, node.use_compressed, node.publish_color, node.image_queue_size) == (
        "",
        False,
        True,
        10,
    )


def test_the_shipped_params_file_sets_every_parameter_to_its_default():
    data = yaml.safe_load(share_path("config/label.yaml").read_text(encoding="utf-8"))
    values = data["/**"]["ros__parameters"]
    assert values == {parameter.name: parameter.default for parameter in PARAMETERS}
    assert settings(values) == settings({})


def test_values_become_session_settings_in_nanoseconds():
    node = settings(
        {
            "method": "motion-only",
            "radius": 4,
            "tau": 30,
            "stamp_tolerance": 0.002,
            "beyond_radius": "semantic",
        }
    )
    assert node.session.propagation == PropagationConfig(Method.MOTION_ONLY, 4, 30.0)
    assert node.session.stamp_tolerance_ns == 2_000_000
    assert node.session.beyond_radius is BeyondRadius.SEMANTIC
    assert session_changes({"radius": 2, "max_gap": 0.5}) == {"radius": 2, "max_gap_ns": 500_000_000}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("radius", -2, "radius = -2; must be >= -1"),
        ("radius", 2.5, "radius must be of type int"),
        ("radius", True, "radius must be of type int"),
        ("tau", -1.0, "tau = -1.0; must be >= 0"),
        ("method", "optical-magic", 'one of: "", motion-only, semantic-only, warp-inpaint, warp-refine'),
        ("beyond_radius", "all", "one of: semantic, none"),
        ("image_queue_size", 0, "must be >= 1"),
        ("use_compressed", "yes", "use_compressed must be of type bool"),
        ("colour", 1, "unknown parameter 'colour'"),
    ],
)
def test_bad_values_are_refused_with_what_is_allowed(name, value, message):
    with pytest.raises(SessionError, match=message.replace("(", r"\(")):
        settings({name: value})


def test_only_method_radius_and_tau_change_at_run_time():
    assert sorted(p.name for p in PARAMETERS if p.dynamic) == ["method", "radius", "tau"]


def test_help_text_lists_every_parameter():
    text = describe()
    for parameter in PARAMETERS:
        assert f"  {parameter.name} ({parameter.type_name}, default" in text
    assert "radius (int, default -1, changeable at run time; >= -1)" in text


def test_without_an_engine_set_the_node_loads_the_shipped_cpu_set(tmp_path):
    assert engine_set_path(settings({})) == share_path("config/engines/default.yaml")
    mine = tmp_path / "mine.yaml"
    mine.write_text("motion: dis\n", encoding="utf-8")
    assert engine_set_path(settings({"engines": str(mine)})) == mine


def test_the_engine_sets_calibrated_settings_are_the_defaults(tmp_path):
    engine_set = tmp_path / "engines.yaml"
    engine_set.write_text("motion: dis:medium\nmethod: motion-only\ntau: 80\nradius: 6\n", encoding="utf-8")
    node = settings({"engines": str(engine_set)})
    assert node.session.propagation == PropagationConfig(Method.MOTION_ONLY, 6, 80.0)
    node = settings({"engines": str(engine_set), "radius": 3})
    assert node.session.propagation.radius == 3  # a parameter that is set wins
    assert session_changes({"tau": 0.0}, node.defaults) == {"tau": 80}  # back to the calibrated value
    engine_set.write_text("motion: dis\ntau: -5\n", encoding="utf-8")
    with pytest.raises(SessionError, match=f"engine set {engine_set}: tau must be a positive"):
        settings({"engines": str(engine_set)})


def test_a_motion_only_engine_set_gets_the_default_classes(tmp_path):
    engine_set = tmp_path / "engines.yaml"
    engine_set.write_text("motion: dis\n", encoding="utf-8")
    engines, spec = open_engines(settings({"engines": str(engine_set)}))
    assert isinstance(engines.motion, DisMotion) and engines.segmentation is None
    assert spec == LabelSpec.default()


def test_a_missing_engine_file_fails_at_start_with_its_path(tmp_path):
    engine_set = tmp_path / "engines.yaml"
    engine_set.write_text("motion: dis\nsegmentation: models/seg.onnx\n", encoding="utf-8")
    missing = tmp_path / "models" / "seg.onnx"
    with pytest.raises(EngineError, match=f"segmentation engine file {missing} does not exist"):
        open_engines(settings({"engines": str(engine_set)}))
    with pytest.raises(EngineError, match=f"engine set {tmp_path / 'nowhere.yaml'} does not exist"):
        open_engines(settings({"engines": str(tmp_path / "nowhere.yaml")}))


def test_a_class_spec_file_overrides_the_default(tmp_path):
    classes = tmp_path / "classes.yaml"
    spec = LabelSpec.from_dict(
        {
            "classes": [
                {"id": 0, "name": "road", "color": [128, 64, 128]},
                {"id": 1, "name": "car", "color": [0, 0, 142]},
            ]
        }
    )
    spec.to_yaml(classes)
    engine_set = tmp_path / "engines.yaml"
    engine_set.write_text("motion: dis\n", encoding="utf-8")
    _, spec = open_engines(settings({"engines": str(engine_set), "classes": str(classes)}))
    assert spec.names == ["road", "car"]
