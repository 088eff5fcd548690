"""An engine set may carry calibrated propagation settings; bag_label uses them unless told otherwise."""

from __future__ import annotations

import json

from warp_refine_ros.cli import bag_label


def label(bag, kf, out, engines, *extra):
    args = [bag, "--image-topic", "/cam/image_raw", "--labels", kf, "--out", out, "--engines", engines]
    return bag_label.main([*map(str, args), *map(str, extra), "--no-progress"])


def test_the_engine_sets_settings_are_the_defaults(tmp_path, tiny_drive, capsys):
    bag, kf = tiny_drive.write_bag(tmp_path), tiny_drive.write_keyframes(tmp_path / "kf")
    engines = tmp_path / "engines.yaml"
    engines.write_text("motion: dis:medium\nmethod: motion-only\nradius: 2\ntau: 80\n")
    assert label(bag, kf, tmp_path / "a", engines) == 0
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert (run["method"], run["radius"], run["tau"]) == ("motion-only", 2, 80.0)
    assert label(bag, kf, tmp_path / "b", engines, "--radius", "3") == 0
    assert json.loads((tmp_path / "b" / "run.json").read_text())["radius"] == 3


def test_a_bad_setting_in_the_engine_set_names_the_file(tmp_path, tiny_drive, capsys):
    bag, kf = tiny_drive.write_bag(tmp_path), tiny_drive.write_keyframes(tmp_path / "kf")
    engines = tmp_path / "engines.yaml"
    engines.write_text("motion: dis\nmethod: motion-only\ntau: -3\n")
    assert label(bag, kf, tmp_path / "out", engines) == 2
    assert f"engine set {engines}: tau must be a positive RGB distance" in capsys.readouterr().err


def sources(*extra: str) -> dict:
    args = bag_label.get_parser().parse_args(
        ["bag", "--image-topic", "/t", "--labels", "kf", "--out", "o", *extra]
    )
    return bag_label.engine_sources(args).named()


def test_a_single_engine_flag_replaces_one_entry_of_the_set(tmp_path):
    shipped = sources()
    assert shipped["motion"] == "dis" and shipped["segmentation"].endswith("seg.onnx")
    assert sources("--motion", "dis:fast") == {**shipped, "motion": "dis:fast"}  # the shipped networks kept
    own = tmp_path / "own.onnx"
    engines = tmp_path / "engines.yaml"
    engines.write_text(f"motion: dis:fine\nsegmentation: {own.name}\nrefiner: {own.name}\n")
    named = sources("--engines", str(engines), "--refiner", "r.onnx")
    assert named == {"motion": "dis:fine", "segmentation": str(own), "refiner": "r.onnx"}


def test_an_engine_flag_the_run_ignores_or_that_a_calibration_did_not_see_is_said(
    tmp_path, tiny_drive, capsys
):
    bag, kf = tiny_drive.write_bag(tmp_path), tiny_drive.write_keyframes(tmp_path / "kf")
    engines = tmp_path / "engines.yaml"
    engines.write_text("motion: dis:medium\nmethod: motion-only\ntau: 80\n")
    assert label(bag, kf, tmp_path / "a", engines, "--refiner", "unused.onnx") == 0
    assert "warning: --refiner not used: motion-only runs motion" in capsys.readouterr().err
    assert label(bag, kf, tmp_path / "b", engines, "--motion", "dis:fast") == 0
    err = capsys.readouterr().err
    assert f"--motion replaces an engine of {engines}, whose method and tau were calibrated" in err
    assert (
        label(
            bag, kf, tmp_path / "c", engines, "--motion", "dis:fast", "--method", "motion-only", "--tau", "80"
        )
        == 0
    )
    assert "warning" not in capsys.readouterr().err
