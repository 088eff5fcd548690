"""adapt_labeler's choice among estimated settings: by estimate, then by cost and the speed floor."""

from __future__ import annotations

from warp_refine_ros.adaptation.choice import COST_TOLERANCE, MARGIN, choose, describe, improves


def record(method: str, estimate: float | None, ms: float | None, motion: str = "dis:medium") -> dict:
    return {"method": method, "tau": 40.0, "motion": motion, "estimated_miou": estimate, "ms_per_frame": ms}


def test_the_best_estimate_wins_when_nothing_is_within_the_margin() -> None:
    slow, fast = record("warp-refine", 60.0, 300.0), record("warp-inpaint", 60.0 - 2 * MARGIN, 30.0)
    assert choose([fast, slow]) == (slow, None)


def test_within_the_margin_the_cheaper_setting_is_chosen_and_said() -> None:
    slow, fast = record("warp-inpaint", 60.0, 120.0, "dis:fine"), record("warp-inpaint", 59.8, 30.0)
    chosen, note = choose([slow, fast])
    assert chosen is fast
    assert "within 0.5 points" in note and "dis:fine" in note and "dis:medium" in note


def test_costs_within_the_tolerance_are_equal_and_the_best_estimate_among_them_wins() -> None:
    best = record("warp-inpaint", 60.0, 33.0)
    noisy = record("warp-inpaint", 59.8, 33.0 / (1 + COST_TOLERANCE / 2))  # same engines, timing noise
    assert choose([noisy, best]) == (best, None) and choose([best, noisy]) == (best, None)


def test_a_speed_floor_rules_out_slow_settings_while_any_is_fast_enough() -> None:
    slow, fast = record("warp-refine", 70.0, 200.0), record("motion-only", 50.0, 20.0)
    assert choose([slow, fast], min_fps=10.0) == (fast, None)  # 5 frames/s against 50
    chosen, note = choose([slow, record("warp-inpaint", 60.0, 150.0)], min_fps=100.0)
    assert chosen["method"] == "warp-inpaint" and "took the fastest" in note


def test_a_stage_must_improve_by_the_margin_and_be_fast_enough() -> None:
    current = record("warp-inpaint", 60.0, 30.0)
    assert improves(record("warp-refine", 61.0, 100.0), current, None)
    assert not improves(record("warp-refine", 60.2, 100.0), current, None)
    assert not improves(record("warp-refine", 70.0, 100.0), current, min_fps=20.0)


def test_failed_estimates_lose_and_descriptions_name_the_setting() -> None:
    assert (
        choose([record("warp-refine", None, 10.0), record("motion-only", 1.0, 50.0)])[0]["method"]
        == "motion-only"
    )
    assert (
        describe(record("warp-refine", 61.25, 120.0))
        == "warp-refine tau 40 dis:medium (61.2, 120 ms a frame)"
    )


def test_an_unmeasured_best_is_kept_and_an_unmeasured_other_is_never_the_cheaper() -> None:
    unmeasured, measured = record("warp-refine", 60.0, None), record("warp-inpaint", 59.8, 30.0)
    assert choose([measured, unmeasured]) == (unmeasured, None)
    assert choose([record("warp-inpaint", 60.0, 30.0), record("warp-refine", 59.9, None)])[1] is None


def grid(motion: str, ms: float, by_tau: dict[float, float]) -> list[dict]:
    return [{**record("warp-inpaint", e, ms, motion), "tau": tau} for tau, e in by_tau.items()]


def test_over_a_grid_the_motion_is_chosen_by_its_mean_then_tau_among_its_records() -> None:
    """fast-20mps's calibration: at tau 20 every motion estimates alike, the lenient taus tell them apart."""
    fast = grid("dis:fast", 50.0, {20.0: 38.6, 40.0: 34.2, 80.0: 27.0, 150.0: 23.9})
    fine = grid("dis:fine", 340.0, {20.0: 39.0, 40.0: 34.9, 80.0: 29.0, 150.0: 26.7})
    assert choose([fast[0], fine[0]])[0] is fast[0]  # one setting a motion: the cheaper within the margin
    chosen, note = choose(fast + fine)
    assert chosen is fine[0] and "dis:fine by each motion's mean estimate" in note


def test_motions_alike_over_the_whole_grid_go_to_the_cheaper() -> None:
    fast = grid("dis:fast", 50.0, {20.0: 38.6, 80.0: 29.0})
    fine = grid("dis:fine", 340.0, {20.0: 38.9, 80.0: 29.1})
    chosen, note = choose(fine + fast)
    assert chosen is fast[0] and "dis:fast" in note
