"""Does keyframe cross-validation rank labeler settings as the per-frame truth does?

For each drive of bench/drive_families.py (drive/, keyframes/, truth/, classes.yaml), a few settings
of the shipped engines are labeled like bag_label (mean mIoU % over |k| = 1..10 against every frame's
truth) and estimated from the keyframes alone by both scores cross-validation keeps: the held-out
keyframe as bag_label writes it (both directions fused; the estimate) and each direction alone.
Prints each drive, then for each score the share of setting pairs it orders as the truth does (pairs
whose truth differs by more than a point) and how far its pick falls below the truth's best.

    python bench/estimate_ranking.py build/families/odd-482x242/6201/drive build/families/tune-warm/5100/drive
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

from trust_probe import RADIUS, TOPIC, mean_miou

from warp_refine_ros.adaptation import calibrate
from warp_refine_ros.adaptation.crossval import Candidate, Models
from warp_refine_ros.adaptation.data import FOLDS, Inputs, match
from warp_refine_ros.engines.base import RefinerEngine, SegmentationEngine
from warp_refine_ros.engines.loading import load_motion, load_refiner, load_segmentation
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import Method, Propagator
from warp_refine_ros.resources import share_path

CANDIDATES = [
    Candidate(Method.MOTION_ONLY, 40.0, "dis:medium"),
    *(Candidate(Method.WARP_INPAINT, 40.0, f"dis:{preset}") for preset in ("fast", "medium", "fine")),
    Candidate(Method.WARP_REFINE, 40.0, "dis:medium"),
]
SCORES = ("written", "one_sided")
CLEAR = 1.0  # truth points: closer pairs are not counted


def estimates(
    drive: Path, segmentation, refiner, candidates: list[Candidate] = CANDIDATES
) -> dict[Candidate, dict[str, float]]:
    """Every score of every candidate from the drive's keyframes, with the given engines."""
    spec = LabelSpec.from_yaml(drive / "classes.yaml")
    inputs = Inputs((drive / "drive",), TOPIC, drive / "keyframes", spec)
    with tempfile.TemporaryDirectory() as work:
        keyframes = match(inputs, Path(work), RADIUS)
        motions = calibrate.load_motions({c.motion for c in candidates}, "cpu", Path(work) / "flows")
        models = {part: Models(segmentation, refiner) for part in FOLDS}
        found = calibrate.estimate(
            keyframes, candidates, spec, motions, models, radius=RADIUS, progress=False, description=""
        )
    scores = {}
    for estimate in found:
        scores[estimate.candidate] = {name: 100 * (estimate.scores[name].miou or 0.0) for name in SCORES}
    return scores


def truths(
    drive: Path, segmentation, refiner, candidates: list[Candidate] = CANDIDATES
) -> dict[Candidate, float]:
    """Mean mIoU over |k| = 1..10 of every candidate labeling the whole drive."""
    found = {}
    for candidate in candidates:
        method = candidate.method
        propagator = Propagator(
            method,
            segmentation.spec,
            motion=load_motion(candidate.motion),
            segmentation=segmentation if method.needs_segmentation else None,
            refiner=refiner if method.needs_refiner else None,
            tau=candidate.tau,
        )
        found[candidate] = mean_miou(drive, propagator)
    return found


def agreement(rows: list[tuple[dict[Candidate, float], dict[Candidate, dict[str, float]]]]) -> None:
    """Per score: pairs ordered as the truth orders them, and the mean loss of its pick."""
    for name in SCORES:
        same = total = 0
        losses = []
        for truth, scores in rows:
            for a, b in itertools.combinations(truth, 2):
                if abs(truth[a] - truth[b]) > CLEAR:
                    total += 1
                    same += (truth[a] > truth[b]) == (scores[a][name] > scores[b][name])
            pick = max(scores, key=lambda c, n=name: scores[c][n])
            losses.append(max(truth.values()) - truth[pick])
        print(
            f"{name:10s} pairs ordered as the truth: {same}/{total}; its pick below the truth's best by "
            f"{sum(losses) / len(losses):.2f} points on average ({', '.join(f'{x:.1f}' for x in losses)})"
        )


def drives_and_shipped_engines(description: str) -> tuple[list[Path], SegmentationEngine, RefinerEngine]:
    """The drive folders given on the command line, and the shipped g and pretrained Omega."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("drives", type=Path, nargs="+", help="drive folders (drive/, keyframes/, truth/)")
    drives = parser.parse_args().drives
    segmentation = load_segmentation(str(share_path("models/seg.onnx")))
    return drives, segmentation, load_refiner(str(share_path("models/refiner.onnx")))


def main() -> None:
    drives, segmentation, refiner = drives_and_shipped_engines(__doc__)
    rows = []
    for drive in drives:
        truth, scores = truths(drive, segmentation, refiner), estimates(drive, segmentation, refiner)
        print(f"\n{drive.parent.parent.name}/{drive.parent.name}  truth | " + " | ".join(SCORES))
        for candidate in CANDIDATES:
            print(
                f"  {candidate!s:32s} {truth[candidate]:5.1f} | "
                + " | ".join(f"{scores[candidate][name]:5.1f}" for name in SCORES),
                flush=True,
            )
        rows.append((truth, scores))
    print()
    agreement(rows)


if __name__ == "__main__":
    main()
