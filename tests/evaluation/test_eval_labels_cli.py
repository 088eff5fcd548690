"""The eval_labels command: prints the table, writes JSON and a PNG plot, reports bad input cleanly."""

from __future__ import annotations

import json

import cv2
import pytest

from warp_refine_ros.cli.eval_labels import get_parser, main


def test_single_output_writes_report_and_plot_inside_it(labeled, capsys: pytest.CaptureFixture[str]) -> None:
    out = labeled.output("warp-refine")
    truth = labeled.truth(per_camera=True)
    assert main([str(out), "--truth", str(truth)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "mIoU (%) by distance |k| from the keyframe"
    assert [line.split() for line in printed[1:6]] == [
        ["|k|", "warp-refine"],
        ["1", "84.5"],
        ["2", "70.8"],
        ["3", "58.3"],
        ["mean", "71.2"],
    ]
    assert "IoU (%) by class" not in "\n".join(printed)
    report = json.loads((out / "eval.json").read_text())
    assert list(report["methods"]) == ["warp-refine"]
    assert report["frames_without_truth"] == 1
    plot = cv2.imread(str(out / "eval_miou_by_offset.png"))
    assert plot is not None and plot.ndim == 3
    assert printed[-1] == f"wrote {out / 'eval.json'} and {out / 'eval_miou_by_offset.png'}"


def test_several_outputs_pool_into_the_named_files(labeled, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = [str(labeled.output(method)) for method in ("warp-refine", "motion-only")]
    truth = labeled.truth(per_camera=False)
    report, plot = labeled.root / "report" / "eval.json", labeled.root / "report" / "miou.png"
    args = [*outputs, "--truth", str(truth), "--json", str(report), "--plot", str(plot), "--per-class"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[1].split() == ["|k|", "motion-only", "warp-refine"]
    assert "IoU (%) by class over all propagated frames (|k| >= 1)" in printed
    assert "road         100.0         75.0" in printed
    assert sorted(json.loads(report.read_text())["methods"]) == ["motion-only", "warp-refine"]
    assert cv2.imread(str(plot)) is not None


def test_several_outputs_need_json_or_plot(labeled, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = [str(labeled.output(method)) for method in ("warp-refine", "motion-only")]
    with pytest.raises(SystemExit) as exit_info:
        main([*outputs, "--truth", str(labeled.truth(per_camera=False))])
    assert exit_info.value.code == 2
    assert "--json FILE and/or --plot FILE" in capsys.readouterr().err


@pytest.mark.parametrize("named", ["--json", "--plot"])
def test_a_named_output_is_the_only_file_written(
    labeled, tmp_path, capsys: pytest.CaptureFixture[str], named: str
) -> None:
    outputs = [labeled.output(method) for method in ("warp-refine", "motion-only")]
    before = {out: sorted(out.iterdir()) for out in outputs}
    target = tmp_path / ("report.json" if named == "--json" else "miou.png")
    for given in (outputs[:1], outputs):
        assert (
            main([*map(str, given), "--truth", str(labeled.truth(per_camera=False)), named, str(target)]) == 0
        )
        assert capsys.readouterr().out.splitlines()[-1] == f"wrote {target}"
        assert {out: sorted(out.iterdir()) for out in outputs} == before, "nothing written into a dataset"
        assert target.stat().st_size > 0
        target.unlink()


def test_classes_option_replaces_a_missing_classes_yaml(labeled) -> None:
    out = labeled.output("warp-refine")
    (out / "classes.yaml").unlink()
    spec_file = labeled.root / "road.yaml"
    labeled.spec.to_yaml(spec_file)
    assert main([str(out), "--truth", str(labeled.truth(per_camera=False)), "--classes", str(spec_file)]) == 0


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("manifest", "manifest.jsonl does not exist"),
        ("classes", "classes.yaml does not exist; pass the class spec with --classes YAML"),
        ("label-id", "ids [7] are not in the class spec"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(
    labeled, capsys: pytest.CaptureFixture[str], breakage: str, message: str
) -> None:
    out = labeled.output("warp-refine")
    truth = labeled.truth(per_camera=False)
    if breakage == "manifest":
        (out / "manifest.jsonl").unlink()
    elif breakage == "classes":
        (out / "classes.yaml").unlink()
    else:
        bad = labeled.truth_labels()
        bad[3, 3] = 7
        labeled.write_png(truth / f"{labeled.stamp(0)}.png", bad)
    assert main([str(out), "--truth", str(truth)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert len(err.splitlines()) == 1
    assert not (out / "eval.json").exists()


def test_help_documents_defaults() -> None:
    text = " ".join(get_parser().format_help().split())
    assert "OUT/eval.json" in text and "OUT/eval_miou_by_offset.png" in text
    assert "Naming --json or --plot writes only the files named" in text
