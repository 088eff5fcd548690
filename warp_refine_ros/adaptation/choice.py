"""How adapt_labeler chooses among cross-validated settings: by estimate, then by what they cost.

Estimates within ``MARGIN`` points of the best are a tie the keyframes cannot break, so the cheapest of
them (milliseconds a frame, adaptation/cost.py) is taken, costs within ``COST_TOLERANCE`` of it
counting as equal (settings that share engines differ by timing noise, and a choice must not follow
it); a stage that adds work (self-training, Omega) must beat the setting it would replace by
``IMPROVEMENT``; and with ``--min-fps`` only settings that label at least that fast on this machine are
chosen, while any is.
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
    """The setting to use among ``records`` and, when cost decided it, why: the fast enough ones (all,
    when none is), then the cheapest of those within MARGIN of their best estimate."""
    allowed = [r for r in records if fast_enough(r, min_fps)]
    if not allowed:
        fastest = max(records, key=lambda r: frames_per_second(r) or 0.0)
        return (
            fastest,
            f"no setting labels at {min_fps:g} frames/s here; took the fastest: {describe(fastest)}",
        )
    best = max(allowed, key=score)  # ties go to the earlier (simpler) record
    if best.get("ms_per_frame") is None:  # its cost unknown, no other can be called cheaper
        return best, None
    close = [r for r in allowed if score(r) >= score(best) - MARGIN]
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
