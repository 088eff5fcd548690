"""evaluate() on a written dataset: scores by method and |offset|, tables, JSON, plot, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from warp_refine_ros.errors import DatasetError, LabelError
from warp_refine_ros.evaluation import class_table, evaluate, offset_table, plot_miou_by_offset
from warp_refine_ros.labels import LabelClass, LabelSpec


def warp_refine_miou(k: int) -> float:
    return (60 / (60 + 10 * k) + (60 - 10 * k) / 60) / 2


def motion_only_miou(k: int) -> float:
    return (1 + (60 - 10 * k) / 60) / 2


def test_scores_by_method_and_absolute_offset(layout) -> None:
    evaluation = evaluate(*layout)
    assert evaluation.methods == ["motion-only", "warp-refine"]
    assert evaluation.offsets == [1, 2, 3]
    for k in (1, 2, 3):
        assert evaluation.scores("warp-refine", k).miou == pytest.approx(warp_refine_miou(k))
        assert evaluation.scores("motion-only", k).miou == pytest.approx(motion_only_miou(k))
        assert evaluation.scores("motion-only", k).coverage == pytest.approx(1 - 10 * k / 120)
        assert evaluation.cells[("warp-refine", k)].frames == 2  # -k and +k pooled
    assert evaluation.scores("warp-refine", 0).miou == 1.0
    assert evaluation.frames("warp-refine", keyframes=True) == 1
    assert evaluation.frames("warp-refine", keyframes=False) == 6
    assert evaluation.without_truth == {"motion-only": 1, "warp-refine": 1}
    pooled = evaluation.propagated("warp-refine")
    # road: TP 2*60*3 = 360, FP 2*10*(1+2+3) = 120; car: TP 240, FN 120; sky absent everywhere.
    assert pooled.iou[0] == pytest.approx(360 / 480)
    assert pooled.iou[1] == pytest.approx(240 / 360)
    assert pooled.iou[2] is None


def test_offset_table_prints_percent_per_length_mean_and_keyframes(layout) -> None:
    table = offset_table(evaluate(*layout)).splitlines()
    assert table[0] == "mIoU (%) by distance |k| from the keyframe"
    assert table[1].split() == ["|k|", "motion-only", "warp-refine"]
    assert [line.split() for line in table[2:6]] == [
        ["1", "91.7", "84.5"],
        ["2", "83.3", "70.8"],
        ["3", "75.0", "58.3"],
        ["mean", "83.3", "71.2"],
    ]
    assert table[6].split() == ["0", "(key)", "100.0", "100.0"]
    assert table[7:] == [
        "motion-only: scored 6 propagated frames and 1 keyframe; skipped 1 frame without ground truth",
        "warp-refine: scored 6 propagated frames and 1 keyframe; skipped 1 frame without ground truth",
    ]


def test_class_table_pools_all_propagated_frames(layout) -> None:
    rows = [line.split() for line in class_table(evaluate(*layout)).splitlines()[1:]]
    assert rows == [
        ["class", "motion-only", "warp-refine"],
        ["road", "100.0", "75.0"],
        ["car", "66.7", "66.7"],
        ["sky", "-", "-"],
        ["mIoU", "83.3", "70.8"],
    ]


def test_one_output_with_several_methods_matches_one_per_method(labeled) -> None:
    outputs = [labeled.output(method) for method in ("warp-refine", "motion-only")]
    both = labeled.root / "both"
    both.mkdir()
    labeled.spec.to_yaml(both / "classes.yaml")
    lines = []
    for out in outputs:
        for line in (out / "manifest.jsonl").read_text().splitlines():
            entry = json.loads(line)
            entry["label"] = f"../{out.name}/{entry['label']}"
            lines.append(json.dumps(entry))
    (both / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    truth = labeled.truth(per_camera=False)
    assert offset_table(evaluate(both, truth)) == offset_table(evaluate(outputs, truth))


def test_json_report_has_keyframes_apart_and_nulls_for_absent_classes(layout) -> None:
    report = json.loads(json.dumps(evaluate(*layout).to_json()))
    assert report["classes"] == ["road", "car", "sky"]
    assert report["frames_scored"] == 14 and report["frames_without_truth"] == 2
    refine = report["methods"]["warp-refine"]
    assert refine["frames_without_truth"] == 1
    assert refine["keyframes"]["frames"] == 1 and refine["keyframes"]["miou"] == 1.0
    assert refine["propagated"]["frames"] == 6
    assert refine["propagated"]["iou"] == {"road": 0.75, "car": pytest.approx(2 / 3), "sky": None}
    assert refine["propagated"]["mean_miou_over_offsets"] == pytest.approx(
        np.mean([warp_refine_miou(k) for k in (1, 2, 3)])
    )
    assert sorted(refine["by_offset"]) == ["1", "2", "3"]
    assert refine["by_offset"]["2"]["miou"] == pytest.approx(warp_refine_miou(2))
    assert report["methods"]["motion-only"]["by_offset"]["1"]["coverage"] == pytest.approx(110 / 120)


def test_plot_draws_one_coloured_line_per_method(layout, tmp_path: Path) -> None:
    path = plot_miou_by_offset(evaluate(*layout), tmp_path / "plot.png")
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert image.shape[0] > 300 and image.shape[1] > 600
    for colour in ((31, 119, 180), (255, 127, 14)):  # matplotlib's first two cycle colours
        assert (np.abs(image.astype(int) - colour).sum(axis=2) < 30).sum() > 100


def test_given_spec_overrides_classes_yaml(labeled) -> None:
    out = labeled.output("warp-refine")
    (out / "classes.yaml").unlink()
    evaluation = evaluate(out, labeled.truth(per_camera=False), spec=labeled.spec)
    assert evaluation.scores("warp-refine", 1).miou == pytest.approx(warp_refine_miou(1))


# --- bad inputs ----------------------------------------------------------------------------------


@pytest.fixture
def single(labeled) -> tuple[Path, Path]:
    return labeled.output("warp-refine", "out"), labeled.truth(per_camera=True)


def rewrite_line(out: Path, index: int, edit) -> None:
    """Apply ``edit`` to the parsed JSON object of manifest line ``index`` (0-based)."""
    manifest = out / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    entry = json.loads(lines[index])
    edit(entry)
    lines[index] = json.dumps(entry)
    manifest.write_text("\n".join(lines) + "\n")


def test_missing_manifest(single) -> None:
    (single[0] / "manifest.jsonl").unlink()
    with pytest.raises(DatasetError, match=r"out/manifest\.jsonl does not exist; point at a directory"):
        evaluate(*single)


def test_malformed_manifest_line_is_named(single) -> None:
    manifest = single[0] / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    lines[2] = lines[2][:-5]
    manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"manifest\.jsonl line 3: not valid JSON"):
        evaluate(*single)


def test_manifest_line_missing_a_field(single) -> None:
    rewrite_line(single[0], 1, lambda entry: entry.pop("offset"))
    with pytest.raises(DatasetError, match=r"line 2: missing field 'offset'"):
        evaluate(*single)


def test_manifest_field_of_wrong_type(single) -> None:
    rewrite_line(single[0], 0, lambda entry: entry.update(stamp_ns=str(entry["stamp_ns"])))
    with pytest.raises(DatasetError, match=r"line 1: field 'stamp_ns' must be an integer"):
        evaluate(*single)


def test_listed_label_file_missing(labeled, single) -> None:
    labeled.label_path(single[0], 1).unlink()
    with pytest.raises(DatasetError, match=rf"lists label .*{labeled.stamp(1)}\.png, which does not exist"):
        evaluate(*single)


def test_truth_of_another_size(labeled, single) -> None:
    labeled.write_png(single[1] / labeled.camera / f"{labeled.stamp(2)}.png", np.zeros((20, 24), np.uint8))
    with pytest.raises(
        DatasetError, match=rf"truth .*{labeled.stamp(2)}\.png is 24x20 but label .* is 12x10"
    ):
        evaluate(*single)


def test_label_id_outside_the_spec(labeled, single) -> None:
    bad = labeled.truth_labels()
    bad[0, 0] = 9
    labeled.write_png(labeled.label_path(single[0], -1), bad)
    with pytest.raises(LabelError, match=r"ids \[9\] are not in the class spec"):
        evaluate(*single)


def test_missing_classes_yaml_asks_for_classes(single) -> None:
    (single[0] / "classes.yaml").unlink()
    with pytest.raises(
        DatasetError, match=r"classes\.yaml does not exist; pass the class spec with --classes"
    ):
        evaluate(*single)


def test_outputs_with_different_class_specs(labeled, single) -> None:
    other = labeled.output("motion-only")
    LabelSpec((*labeled.spec.classes[:2], LabelClass(6, "sky", (0, 0, 0)))).to_yaml(other / "classes.yaml")
    with pytest.raises(DatasetError, match="different class specs"):
        evaluate([single[0], other], single[1])


def test_no_truth_for_any_frame(tmp_path: Path, single) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"has ground truth in .*empty \(looked for"):
        evaluate(single[0], tmp_path / "empty")


def test_truth_directory_missing(tmp_path: Path, single) -> None:
    with pytest.raises(DatasetError, match=r"truth directory .*nowhere does not exist"):
        evaluate(single[0], tmp_path / "nowhere")
