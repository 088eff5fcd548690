"""Score output datasets against ground truth by method and by |offset| from the keyframe.

|offset| 0 is the keyframe itself (the human label copied through) and is reported on its own;
"propagated" pools every |offset| >= 1, like the paper's per-class comparison (Fig. 5), while the
per-offset scores give its mIoU-vs-propagation-length curve (Fig. 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from warp_refine_ros.errors import DatasetError
from warp_refine_ros.evaluation.confusion import ConfusionMatrix, Scores
from warp_refine_ros.evaluation.dataset import find_truth, load_pair, read_classes, read_manifest
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.methods import Method


@dataclass
class Cell:
    """Pixels and frame count of one (method, |offset|) group."""

    matrix: ConfusionMatrix
    frames: int = 0


@dataclass
class Evaluation:
    """Confusion matrices per (method, |offset|) over one or several output datasets."""

    spec: LabelSpec
    outputs: list[Path]
    truth_dir: Path
    cells: dict[tuple[str, int], Cell] = field(default_factory=dict)
    without_truth: dict[str, int] = field(default_factory=dict)  # frames skipped per method

    def add(self, method: str, offset: int, truth: np.ndarray, label: np.ndarray) -> None:
        """Score one frame into its (method, |offset|) cell."""
        key = (method, abs(offset))
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = Cell(ConfusionMatrix.for_spec(self.spec))
        cell.matrix.update(truth, label)
        cell.frames += 1

    @property
    def methods(self) -> list[str]:
        """Methods present, the paper's four in their order first, others alphabetically."""
        known = [m.value for m in Method]
        found = {m for m, _ in self.cells} | set(self.without_truth)
        return sorted(found, key=lambda m: (known.index(m) if m in known else len(known), m))

    @property
    def offsets(self) -> list[int]:
        """Propagation lengths |offset| >= 1 present for any method, ascending."""
        return sorted({k for _, k in self.cells if k > 0})

    def scores(self, method: str, offset: int) -> Scores | None:
        """Scores of one (method, |offset|) group; None if it has no scored frame."""
        cell = self.cells.get((method, offset))
        return cell.matrix.compute() if cell else None

    def propagated(self, method: str) -> Scores | None:
        """Scores pooled over every propagated frame (|offset| >= 1) of a method."""
        pooled = ConfusionMatrix.for_spec(self.spec)
        cells = [cell for (m, k), cell in self.cells.items() if m == method and k > 0]
        for cell in cells:
            pooled += cell.matrix
        return pooled.compute() if cells else None

    def mean_miou(self, method: str) -> float | None:
        """mIoU averaged over the propagation lengths the method has, each length weighted equally."""
        values = [s.miou for k in self.offsets if (s := self.scores(method, k)) and s.miou is not None]
        return sum(values) / len(values) if values else None

    def frames(self, method: str, *, keyframes: bool) -> int:
        """Scored frames of a method, keyframes (|offset| 0) or propagated ones."""
        return sum(c.frames for (m, k), c in self.cells.items() if m == method and (k == 0) == keyframes)

    def to_json(self) -> dict:
        """Everything as a JSON-ready mapping; IoU values are fractions in 0..1, undefined ones null."""
        names = self.spec.names

        def block(scores: Scores | None, frames: int) -> dict | None:
            return {"frames": frames, **scores.to_dict(names)} if scores else None

        methods = {}
        for method in self.methods:
            by_offset = {
                str(k): block(self.scores(method, k), self.cells[(method, k)].frames)
                for k in self.offsets
                if (method, k) in self.cells
            }
            propagated = block(self.propagated(method), self.frames(method, keyframes=False))
            if propagated:
                propagated["mean_miou_over_offsets"] = self.mean_miou(method)
            methods[method] = {
                "frames_without_truth": self.without_truth.get(method, 0),
                "keyframes": block(self.scores(method, 0), self.frames(method, keyframes=True)),
                "propagated": propagated,
                "by_offset": by_offset,
            }
        return {
            "outputs": [str(p) for p in self.outputs],
            "truth": str(self.truth_dir),
            "classes": names,
            "ignore_id": self.spec.ignore_id,
            "frames_scored": sum(c.frames for c in self.cells.values()),
            "frames_without_truth": sum(self.without_truth.values()),
            "methods": methods,
        }


def evaluate(
    out_dirs: str | Path | Sequence[str | Path], truth_dir: str | Path, *, spec: LabelSpec | None = None
) -> Evaluation:
    """Score every manifest frame that has a truth PNG; frames without one are counted, not scored.

    Several output directories (e.g. one per method) are pooled into one evaluation. Without
    ``spec`` the directories' classes.yaml are used and must agree.
    """
    outputs = [Path(out_dirs)] if isinstance(out_dirs, (str, Path)) else [Path(p) for p in out_dirs]
    if not outputs:
        raise DatasetError("no output directory given")
    truth_dir = Path(truth_dir)
    if not truth_dir.is_dir():
        raise DatasetError(f"truth directory {truth_dir} does not exist")
    evaluation = Evaluation(spec or _common_spec(outputs), outputs, truth_dir)
    for out_dir in outputs:
        for record in read_manifest(out_dir):
            truth_path = find_truth(truth_dir, record)
            if truth_path is None:
                evaluation.without_truth[record.method] = evaluation.without_truth.get(record.method, 0) + 1
                continue
            truth, label = load_pair(record, truth_path, evaluation.spec)
            evaluation.add(record.method, record.offset, truth, label)
    if not evaluation.cells:
        raise DatasetError(
            f"no frame of {', '.join(map(str, outputs))} has ground truth in {truth_dir} "
            f"(looked for {truth_dir}/<camera>/<stamp_ns>.png and {truth_dir}/<stamp_ns>.png)"
        )
    return evaluation


def _common_spec(outputs: list[Path]) -> LabelSpec:
    """The class spec shared by all output directories, or an error naming the two that differ."""
    spec = read_classes(outputs[0])
    for out_dir in outputs[1:]:
        if read_classes(out_dir) != spec:
            raise DatasetError(
                f"{outputs[0]} and {out_dir} were written with different class specs; "
                "evaluate them separately or pass --classes YAML"
            )
    return spec
