"""adapt_labeler's decisions between its stages: which g, which Omega, when the shipped pair wins, and
when Omega's loss on the keyframes' short cycles drops it.

The stages themselves (training, cross-validation) are exercised end to end in test_adapt_labeler.py;
here their estimates are given, so each decision is checked on its own.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from warp_refine_ros.adaptation import pipeline
from warp_refine_ros.adaptation.choice import MARGIN
from warp_refine_ros.adaptation.pipeline import Adaptation
from warp_refine_ros.adaptation.short_cycles import CycleCheck
from warp_refine_ros.propagation import Method

SHIPPED_G, TRAINED_G = Path("shipped/seg.pt"), Path("trained/seg.pt")


def record(method: Method, estimate: float, stage: str, tau: float = 80.0) -> dict:
    return {
        "method": str(method),
        "tau": tau,
        "motion": "dis:fine",
        "estimated_miou": estimate,
        "ms_per_frame": {Method.WARP_REFINE: 220.0}.get(method, 130.0),
        "stage": stage,
    }


def adaptation(monkeypatch, baseline: list[dict], calibration: list[dict], omega: dict | None) -> Adaptation:
    """An Adaptation whose stages return these estimates (``omega``: Omega's best with the kept g)."""
    run = Adaptation.__new__(Adaptation)
    run.options = SimpleNamespace(min_fps=None, rounds=0)
    run.shipped_seg, run.pretrained, run.notes, run.records = SHIPPED_G, Path("shipped/refiner.pt"), [], []
    run.chosen, run.flows, run.init, run.motions = {}, Path("/nonexistent/flows"), None, {"dis:fine": None}
    run.today = baseline[0]
    monkeypatch.setattr(run, "_baseline", lambda: (baseline[0], baseline))
    monkeypatch.setattr(run, "_g", lambda part, *args, **kwargs: TRAINED_G)
    monkeypatch.setattr(run, "_models", lambda segs, refiners=None: {})
    monkeypatch.setattr(run, "estimate", lambda name, grid, models: calibration)
    monkeypatch.setattr(run, "_self_training", lambda segs: 0)
    monkeypatch.setattr(run, "_holds_near", lambda record, named, models: True)  # short cycles: below
    seen = {}

    def refiner(segs: dict, g_source: str, estimated: list[dict]) -> str | None:
        seen["omega_with"] = set(segs.values())
        if omega is not None and omega["estimated_miou"] >= run.chosen["estimated_miou"] + 0.5:
            run.chosen = omega
            return "trained"
        return None

    monkeypatch.setattr(run, "_refiner", refiner)
    monkeypatch.setattr(run, "_final", lambda g_source, rounds, source, segs: (g_source, source))
    run.seen = seen
    return run


BASELINE = [
    record(Method.WARP_INPAINT, 31.3, "baseline", tau=40.0),
    record(Method.WARP_REFINE, 35.8, "baseline refiner"),
]


def test_a_trained_g_that_beats_the_shipped_g_is_kept_though_the_shipped_pair_has_omega(monkeypatch) -> None:
    run = adaptation(
        monkeypatch,
        BASELINE,
        [record(Method.WARP_INPAINT, 34.3, "calibration")],
        omega=record(Method.WARP_REFINE, 37.5, "calibration refiner"),
    )
    outcome = run.run()
    assert run.seen["omega_with"] == {TRAINED_G}  # Omega is tried with the g that won
    assert (outcome.g_source, outcome.refiner_source) == ("trained", "trained")
    assert outcome.chosen["estimated_miou"] == 37.5


def test_the_shipped_pair_is_kept_where_it_beats_everything_found_with_the_trained_g(monkeypatch) -> None:
    run = adaptation(
        monkeypatch,
        BASELINE,
        [record(Method.WARP_INPAINT, 34.3, "calibration")],
        omega=record(Method.WARP_REFINE, 34.5, "calibration refiner"),  # not kept: under the margin
    )
    outcome = run.run()
    assert (outcome.g_source, outcome.refiner_source, outcome.rounds) == ("shipped", "pretrained", 0)
    assert outcome.chosen is BASELINE[1]
    assert any("the shipped g and pretrained Omega" in note for note in outcome.notes)


@pytest.mark.parametrize("trained", [30.0, 31.3])
def test_a_trained_g_no_better_than_the_shipped_g_without_omega_is_dropped(monkeypatch, trained) -> None:
    run = adaptation(monkeypatch, BASELINE, [record(Method.WARP_INPAINT, trained, "calibration")], omega=None)
    outcome = run.run()
    assert run.seen["omega_with"] == {SHIPPED_G}
    assert outcome.g_source == "shipped" and outcome.chosen is BASELINE[1]  # then the shipped pair
    assert any("did not beat warp-inpaint tau 40 dis:fine" in note for note in outcome.notes)


def test_with_the_shipped_g_the_baselines_pretrained_omega_estimate_is_reused_not_made_again(
    monkeypatch,
) -> None:
    run = adaptation(monkeypatch, BASELINE, [], omega=None)
    monkeypatch.undo()  # the real _refiner, with the stages below given
    made, asked = [], []
    monkeypatch.setattr(run, "estimate", lambda name, grid, models: made.append(name) or [])
    run.budget = SimpleNamespace(
        refiner_trainings=lambda: 600.0, affordable=lambda seconds, what: asked.append(what) or False
    )
    run.__dict__["_refiner_check_seconds"] = 60.0  # priced, not timed
    run.chosen = record(Method.WARP_INPAINT, 36.0, "baseline")  # the shipped g's best, as in BASELINE[1]
    source = run._refiner({"fold0": SHIPPED_G, "fold1": SHIPPED_G}, "shipped", [BASELINE[1]])
    assert made == [] and asked == ["fine-tuning the refiner"]  # nothing estimated again
    assert source is None and run.chosen["estimated_miou"] == 36.0  # 35.8 does not beat 36.0


@pytest.mark.parametrize(("gain", "kept"), [(-2.0, False), (-MARGIN / 2, True), (1.0, True)])
def test_adapt_labeler_keeps_omega_only_where_it_holds_on_short_cycles(monkeypatch, gain, kept) -> None:
    run = adaptation(monkeypatch, BASELINE, [], omega=None)
    monkeypatch.undo()  # the real _refiner, with the stages below given
    omega = record(Method.WARP_REFINE, 40.0, "calibration refiner")
    made = []

    def estimate(name, grid, models):
        made.append(name)
        return [omega]

    run.estimate = estimate
    run._models = lambda segs, refiners=None: {}
    run._omega = lambda part, setting, segs: Path(f"{part}/refiner.pt")
    run.keyframes = SimpleNamespace(streams=[], model_for=lambda window: "fold0")
    run.inputs = SimpleNamespace(spec=None)
    run.options = SimpleNamespace(min_fps=None, radius=10, progress=False)
    run.state = SimpleNamespace(stage=lambda name, make: make(), seconds=lambda name: 60.0)
    run.budget = SimpleNamespace(
        refiner_trainings=lambda: 600.0,
        affordable=lambda seconds, what: True,
        g_seconds=lambda: 60.0,
        rounds_kept=lambda: 0,
    )
    run.__dict__["_refiner_check_seconds"] = 60.0
    checked = CycleCheck(70.0, 70.0 + gain, 40, 5)
    monkeypatch.setattr(pipeline, "short_cycles", lambda *args, **kwargs: checked)
    run.chosen = record(Method.WARP_INPAINT, 36.0, "calibration")
    source = run._refiner({"fold0": TRAINED_G, "fold1": TRAINED_G}, "trained", [])
    assert made == ["calibration pretrained refiner", "calibration refiner"]
    assert omega["short_cycles"]["warp_refine_miou"] == 70.0 + gain  # in report.json beside its estimate
    if kept:
        assert source == "pretrained" and run.chosen is omega
    else:
        assert source is None and run.chosen["method"] == "warp-inpaint"
        assert any("lost 2.0 points to warp-inpaint on the keyframes' own cycles" in n for n in run.notes)
