"""Plain-text tables of an Evaluation: mIoU by |offset| (rows) and method (columns), IoU by class."""

from __future__ import annotations

from warp_refine_ros.evaluation.report import Evaluation

MISSING = "-"


def percent(value: float | None) -> str:
    """A fraction as a percentage with one decimal, or '-' where undefined."""
    return MISSING if value is None else f"{100.0 * value:.1f}"


def _grid(title: str, corner: str, columns: list[str], rows: list[tuple[str, list[str]]]) -> str:
    """Right-aligned text table with a header row; ``rows`` are (row name, one cell per column)."""
    first = max(len(corner), *(len(name) for name, _ in rows))
    widths = [max(len(c), 5) for c in columns]

    def line(name: str, cells: list[str]) -> str:
        return "  ".join([name.ljust(first), *(v.rjust(w) for v, w in zip(cells, widths, strict=True))])

    lines = [title, line(corner, columns), *(line(name, cells) for name, cells in rows)]
    return "\n".join(lines)


def offset_table(evaluation: Evaluation) -> str:
    """mIoU (%) for each propagation length |k| = 1..K and method, their mean, then keyframes (|k| 0)."""
    methods = evaluation.methods

    def row(k: int) -> list[str]:
        return [percent(s.miou if (s := evaluation.scores(m, k)) else None) for m in methods]

    rows = [(str(k), row(k)) for k in evaluation.offsets]
    rows.append(("mean", [percent(evaluation.mean_miou(m)) for m in methods]))
    if any((m, 0) in evaluation.cells for m in methods):
        rows.append(("0 (key)", row(0)))
    table = _grid("mIoU (%) by distance |k| from the keyframe", "|k|", methods, rows)
    return f"{table}\n{frame_summary(evaluation)}"


def frame_summary(evaluation: Evaluation) -> str:
    """One line per method: propagated and keyframe frames scored, frames skipped without truth."""
    lines = []
    for method in evaluation.methods:
        propagated = evaluation.frames(method, keyframes=False)
        keyframes = evaluation.frames(method, keyframes=True)
        line = (
            f"{method}: scored {_count(propagated, 'propagated frame')} and {_count(keyframes, 'keyframe')}"
        )
        skipped = evaluation.without_truth.get(method, 0)
        lines.append(f"{line}; skipped {_count(skipped, 'frame')} without ground truth" if skipped else line)
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def class_table(evaluation: Evaluation) -> str:
    """IoU (%) per class (rows) and method (columns) over all propagated frames, then their mIoU."""
    methods = evaluation.methods
    pooled = [evaluation.propagated(m) for m in methods]
    rows = [
        (name, [percent(s.iou[c] if s else None) for s in pooled])
        for c, name in enumerate(evaluation.spec.names)
    ]
    rows.append(("mIoU", [percent(s.miou if s else None) for s in pooled]))
    return _grid("IoU (%) by class over all propagated frames (|k| >= 1)", "class", methods, rows)
