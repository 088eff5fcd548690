"""mIoU versus propagation length, one line per method (the paper's Fig. 1), drawn off-screen."""

from __future__ import annotations

from itertools import cycle
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from warp_refine_ros.evaluation.report import Evaluation

_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def plot_miou_by_offset(evaluation: Evaluation, path: str | Path) -> Path:
    """Save a PNG of mIoU (%) against |k| = 1..K for every method with propagated frames."""
    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    FigureCanvasAgg(figure)  # an Agg canvas without pyplot: no display, no global backend state
    axes = figure.add_subplot()
    offsets = evaluation.offsets
    for method, marker in zip(evaluation.methods, cycle(_MARKERS)):
        points = [(k, s.miou) for k in offsets if (s := evaluation.scores(method, k)) and s.miou is not None]
        if points:
            axes.plot([k for k, _ in points], [100.0 * v for _, v in points], marker=marker, label=method)
    axes.set_xlabel("propagation length |k| (frames from the keyframe)")
    axes.set_ylabel("mIoU (%)")
    axes.set_title("Propagated label quality vs. propagation length")
    if offsets:
        axes.set_xticks(offsets)
    axes.grid(True, alpha=0.3)
    if axes.get_lines():
        axes.legend()
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path
