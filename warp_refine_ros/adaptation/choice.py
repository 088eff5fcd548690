"""How adapt_labeler chooses among cross-validated settings: by estimate, then by what they cost.

Estimates within ``MARGIN`` points of the best are a tie the keyframes cannot break, so the cheapest of
them (milliseconds a frame, adaptation/cost.py) is taken, costs within ``COST_TOLERANCE`` of it
counting as equal (settings that share engines differ by timing noise, and a choice must not follow
it); a stage that adds work (self-training, Omega) must beat the setting it would replace by
``IMPROVEMENT``; and with ``--min-fps`` only settings that label at least that fast on this machine are
chosen, while any is.

Over a grid of motions x tau the motion is chosen first, by its mean estimate over the grid (the same
rule: the cheapest within the margin), then the setting among its records. Across the keyframe spacing
a strict tau has g redo most warps, so there every motion estimates alike (fast-20mps, tau 20: DIS fast
38.6, fine 39.0), while the lenient taus show what the motion is worth (tau 80: 27.0 against 29.0); a
tie at the strict tau alone would hand the choice to the cheapest motion.
"""

from __future__ import annotations

from collections.abc import Sequence

MARGIN = 0.5  # estimated mIoU points: within this of the best, the cheaper setting is chosen
COST_TOLERANCE = 0.2  # costs within 20 % of the cheapest are equal: the best estimate among them wins
IMPROVEMENT = 0.5  # estimated mIoU points a self-training round or Omega must add to be kept


def score(record: dict) -> float:
    """A record's estimate, -1 when it could not be made."""
    return -1.0 if record["estimated_miou"] is None else record["estimated_miou"]


def frames_per_second(record: dict) -> float | None:
    """How fast a setting labels on this machine, from its cost; None where unmeasured."""
    cost = record.get("ms_per_frame")
    return None if not cost else 1000.0 / cost


def fast_enough(record: dict, min_fps: float | None) -> bool:
    """Whether a setting meets the speed floor (an unmeasured one is taken to meet it)."""
    rate = frames_per_second(record)
    return min_fps is None or rate is None or rate >= min_fps


def choose(records: Sequence[dict], min_fps: float | None = None) -> tuple[dict, str | None]:
    """The setting to use among ``records`` and, when cost or the grid decided it, why: the fast enough
    ones (all, when none is); over a grid of motions, the motion first (the module's docstring); then
    the cheapest of its records within MARGIN of their best estimate."""
    allowed = [r for r in records if fast_enough(r, min_fps)]
    if not allowed:
        fastest = max(records, key=lambda r: frames_per_second(r) or 0.0)
        return (
            fastest,
            f"no setting labels at {min_fps:g} frames/s here; took the fastest: {describe(fastest)}",
        )
    motions: dict[str, list[dict]] = {}
    for record in allowed:
        motions.setdefault(record["motion"], []).append(record)
    if len(motions) < 2 or all(len(group) < 2 for group in motions.values()):
        return _best_or_cheapest(allowed)
    summaries = [_summary(motion, group) for motion, group in motions.items()]
    picked, cheaper = _best_or_cheapest(summaries)
    motion = picked["motion"]
    chosen, note = _best_or_cheapest(motions[motion])
    if cheaper or motion != _best_or_cheapest(allowed)[0]["motion"]:  # cost, or the grid, decided
        means = ", ".join(f"{s['motion']} {score(s):.1f}" for s in summaries)
        note = (
            f"chose {motion} by each motion's mean estimate over the grid ({means}; within {MARGIN:g} points "
            "the cheaper): one strict tau, where g redoes most warps, does not say what a motion is worth"
            + (f"; {note}" if note else "")
        )
    return chosen, note


def _summary(motion: str, records: list[dict]) -> dict:
    """A motion's records as one: their mean estimate and median cost."""
    median = sorted(_cost(r) for r in records)[len(records) // 2]
    return {
        "method": "mean over the grid",
        "tau": float("nan"),
        "motion": motion,
        "estimated_miou": sum(score(r) for r in records) / len(records),
        "ms_per_frame": median if median != float("inf") else None,
    }


def _best_or_cheapest(records: Sequence[dict]) -> tuple[dict, str | None]:
    """The best estimate, or the cheapest within MARGIN of it, and why when cost decided."""
    best = max(records, key=score)  # ties go to the earlier (simpler) record
    if best.get("ms_per_frame") is None:  # its cost unknown, no other can be called cheaper
        return best, None
    close = [r for r in records if score(r) >= score(best) - MARGIN]
    lowest = min(_cost(r) for r in close)
    cheapest = max((r for r in close if _cost(r) <= lowest * (1 + COST_TOLERANCE)), key=score)
    if cheapest is not best:
        note = (
            f"chose {describe(cheapest)} over {describe(best)}: within {MARGIN:g} points of the best "
            "estimate and cheaper"
        )
        return cheapest, note
    return best, None


def _cost(record: dict) -> float:
    """Milliseconds a frame; an unmeasured setting costs more than any measured one."""
    cost = record.get("ms_per_frame")
    return float("inf") if cost is None else cost


def improves(challenger: dict, current: dict, min_fps: float | None) -> bool:
    """Whether a stage's setting should replace the current one: fast enough, and IMPROVEMENT better."""
    return fast_enough(challenger, min_fps) and score(challenger) >= score(current) + IMPROVEMENT


def describe(record: dict) -> str:
    """``warp-inpaint tau 40 dis:fine (61.2, 120 ms a frame)`` for notes and reports."""
    cost = record.get("ms_per_frame")
    speed = f", {cost:.0f} ms a frame" if cost else ""
    return f"{record['method']} tau {record['tau']:g} {record['motion']} ({score(record):.1f}{speed})"
