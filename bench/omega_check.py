"""Does Omega's check on the keyframes' short cycles say what Omega adds where bag_label's frames travel?

For each drive of bench/drive_families.py (drive/, keyframes/, truth/, classes.yaml), with the shipped
g and pretrained Omega, DIS medium and tau 40: Omega's gain over warp-inpaint (mean mIoU % over
|k| = 1..10 against every frame's truth), its gain in the estimate (held-out keyframes across the
keyframe spacing) and on the held-out keyframes' short cycles (adaptation/short_cycles.py), and what
adapt_labeler's rule (the estimate up by IMPROVEMENT, no loss beyond MARGIN on short cycles) decides
against what the estimate alone decides.

    python bench/omega_check.py build/families/hd-1080p/6100/drive build/families/night-jpeg/6300/drive
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from estimate_ranking import drives_and_shipped_engines, estimates, truths
from trust_probe import RADIUS, TOPIC

from warp_refine_ros.adaptation import calibrate
from warp_refine_ros.adaptation.choice import IMPROVEMENT, MARGIN
from warp_refine_ros.adaptation.crossval import Candidate, Models
from warp_refine_ros.adaptation.data import Inputs, match
from warp_refine_ros.adaptation.short_cycles import CycleCheck, short_cycles
from warp_refine_ros.adaptation.streams import held_out_keyframes
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation import Method

MOTION, TAU = "dis:medium", 40.0
PAIR = [Candidate(Method.WARP_INPAINT, TAU, MOTION), Candidate(Method.WARP_REFINE, TAU, MOTION)]


def cycle_check(drive: Path, models: Models) -> CycleCheck:
    """Omega against warp-inpaint on every held-out keyframe's short cycles of the drive."""
    spec = LabelSpec.from_yaml(drive / "classes.yaml")
    inputs = Inputs((drive / "drive",), TOPIC, drive / "keyframes", spec)
    with tempfile.TemporaryDirectory() as work:
        keyframes = match(inputs, Path(work), RADIUS)
        (motion,) = calibrate.load_motions([MOTION], "cpu", Path(work) / "flows").values()
        windows = held_out_keyframes(keyframes.streams, RADIUS)
        return short_cycles(
            windows, PAIR[1], spec, motion, lambda window: models, radius=RADIUS, progress=False
        )


def main() -> None:
    drives, segmentation, refiner = drives_and_shipped_engines(__doc__)
    print(
        "drive: Omega's gain over warp-inpaint in truth | estimate | short cycles -> "
        "kept by the estimate alone, by the rule"
    )
    right = {"estimate alone": 0, "with short cycles": 0}
    for drive in drives:
        truth = truths(drive, segmentation, refiner, PAIR)
        scores = estimates(drive, segmentation, refiner, PAIR)
        check = cycle_check(drive, Models(segmentation, refiner))
        gains = [truth[PAIR[1]] - truth[PAIR[0]], scores[PAIR[1]]["written"] - scores[PAIR[0]]["written"]]
        by_estimate = gains[1] >= IMPROVEMENT
        by_rule = by_estimate and (check.gain is None or check.gain >= -MARGIN)
        right["estimate alone"] += by_estimate == (gains[0] > 0)
        right["with short cycles"] += by_rule == (gains[0] > 0)
        print(
            f"{drive.parent.parent.name}/{drive.parent.name}: {gains[0]:+5.2f} | {gains[1]:+5.2f} | "
            f"{check.gain:+5.2f} ({check.warp_refine:.1f} against {check.warp_inpaint:.1f}) -> "
            f"{'kept' if by_estimate else 'dropped'}, {'kept' if by_rule else 'dropped'}",
            flush=True,
        )
    for name, count in right.items():
        print(f"{name}: kept where Omega wins in truth, dropped where it loses: {count}/{len(drives)}")


if __name__ == "__main__":
    main()
