"""adapt_labeler: fit g, Omega, motion, tau and method to a team's camera from its keyframes.

1. Today's defaults and the shipped engines are cross-validated on the keyframes (the baseline).
2. g is trained on each fold's complement (from the shipped g when the class spec matches, from
   ``--seg-init`` when given, else from scratch) and motion x tau x method calibrated with it.
3. Self-training rounds: the drives are labeled from each fold's complement with its g, and g is
   trained again on those propagated frames mixed 70/30 with the manual ones, while the estimate rises.
4. Omega is trained by cycle consistency through the calibrated engines and kept only where it
   beats warp-inpaint in cross-validation.
5. The chosen recipe is replayed on all keyframes: those are the models that ship in ``OUT``.
Every estimate labels a keyframe with models that never saw it.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from warp_refine_ros.adaptation import calibrate
from warp_refine_ros.adaptation.crossval import Candidate, Models
from warp_refine_ros.adaptation.data import FOLDS, Inputs, Keyframes, fingerprint, match
from warp_refine_ros.adaptation.models import Schedule, label_drives, seconds_per_step, train_g, train_omega
from warp_refine_ros.adaptation.options import Options, Outcome, Shipped, shipped_checkpoint
from warp_refine_ros.adaptation.state import State
from warp_refine_ros.engines.loading import (
    EngineSet,
    canonical_motion,
    default_engines,
    load_refiner,
    load_segmentation,
)
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.networks.pretrained import starting_config
from warp_refine_ros.networks.refiner import RefinerConfig
from warp_refine_ros.networks.segmentation import SegmentationConfig
from warp_refine_ros.propagation import Method
from warp_refine_ros.propagation.config import PropagationConfig

SCRATCH = "scratch"  # --seg-init value: g from random weights


def today() -> Candidate:
    """What bag_label runs without adaptation: the shipped engine set's motion with the default settings."""
    shipped = default_engines()
    config = PropagationConfig(**EngineSet.settings_in_yaml(shipped))
    return Candidate(config.method, config.tau, canonical_motion(EngineSet.names_in_yaml(shipped)["motion"]))


IMPROVEMENT = 0.5  # estimated mIoU points a self-training round or Omega must add to be kept
TRAINING_SHARE = 0.65  # of the budget, for the trainings; the rest labels and cross-validates


class Adaptation:
    """One adaptation run: its data, options, stages on disk and the estimates made so far."""

    def __init__(self, inputs: Inputs, options: Options, arguments: dict[str, Any]) -> None:
        self.inputs, self.options = inputs, options
        self.work = options.out / "work"
        self.today = today()
        # The baseline is stored with the run: a run begun under other defaults is not resumed.
        self.state = State(self.work / "state.json", {**arguments, "release_defaults": str(self.today)})
        self.keyframes: Keyframes = match(inputs, self.work, options.radius)
        matched = fingerprint(self.keyframes)
        if self.state.stage("keyframes", lambda: matched) != matched:
            raise DatasetError(
                f"the keyframes in {inputs.labels} changed since this adaptation in {options.out} began, and "
                "its models were trained on the old ones; adapt into a new --out"
            )
        self.shipped = Shipped.fitting(inputs.spec)
        # The shipped g is the default start even for other classes: its encoder knows streets, and
        # only the classifier starts anew (a g from scratch learns little from a few keyframes).
        self.init = _start(options.seg_init)
        self.config = (
            starting_config(self.init, inputs.spec)
            if self.init
            else SegmentationConfig(inputs.spec.num_classes)
        )
        names = [*calibrate.DIS_PRESETS, *([str(options.motion)] if options.motion else [])]
        self.motions = calibrate.load_motions(names, options.device)
        plan = self.state.stage("plan", self._plan)
        self.schedule = Schedule(**plan["schedule"])
        self.step_seconds: list[float] = plan["seconds_per_step"]
        self.records: list[dict] = []
        self.notes: list[str] = []
        self.chosen: dict = {}

    # --- the run -------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Every stage in order (finished ones are read back); the models and settings to ship."""
        today, baseline_best = self._baseline()
        segs = {part: self._g(part, 0, self.init, None) for part in FOLDS}
        grid = calibrate.warp_inpaint_grid(list(self.motions), methods=(Method.WARP_INPAINT,))
        self.chosen = _best(self.estimate("calibration", grid, self._models(segs)))
        g_source, refiner_source = "trained", None
        if _score(baseline_best) >= _score(self.chosen):  # the shipped engines, or motion alone, did better
            self.chosen = baseline_best
            g_source = "shipped" if self.shipped is not None else "trained"
            refiner_source = "shipped" if baseline_best["method"] == str(Method.WARP_REFINE) else None
            self.notes.append(
                f"warp-inpaint with g trained on the keyframes did not beat {baseline_best['method']} with "
                f"{'the shipped engines' if self.shipped else 'motion alone'} in cross-validation: kept that"
            )
        rounds = self._self_training(segs) if g_source == "trained" else 0
        if g_source == "shipped":
            segs = {part: self.shipped.seg for part in FOLDS}
        if self._refiner(segs, g_source):
            refiner_source = "trained"
        segmentation, refiner = self._final(g_source, rounds, refiner_source)
        return Outcome(
            self.chosen,
            today,
            self.records,
            segmentation,
            refiner,
            g_source,
            rounds,
            refiner_source,
            self.notes,
        )

    def _baseline(self) -> tuple[dict, dict]:
        """Today's defaults, and the best of the shipped engines at every motion and tau (of motion-only
        when they do not fit the class spec)."""
        motions = list(calibrate.DIS_PRESETS)
        if self.shipped is None:
            grid = [Candidate(Method.MOTION_ONLY, calibrate.MOTION_ONLY_TAU, motion) for motion in motions]
            found = self.estimate("baseline", grid, {part: Models() for part in FOLDS})
            return next(r for r in found if r["motion"] == self.today.motion), _best(found)
        shipped = {
            part: Models(
                load_segmentation(_onnx(self.shipped.seg)), load_refiner(_onnx(self.shipped.refiner))
            )
            for part in FOLDS
        }
        found = self.estimate("baseline", calibrate.warp_inpaint_grid(motions), shipped)
        best = _best(found)
        refine = (
            [Candidate(Method.WARP_REFINE, best["tau"], best["motion"])]
            if best["method"] != "motion-only"
            else []
        )
        missing = [c for c in [self.today, *refine] if all(_candidate(r) != c for r in found)]
        if missing:
            found = [*found, *self.estimate("baseline refiner", missing, shipped)]
        today = next(r for r in found if _candidate(r) == self.today)
        return today, _best(found)

    def _self_training(self, segs: dict[str, Path]) -> int:
        """Rounds of labeling the drives and training g on the result, while cross-validation improves."""
        rounds = 0
        while rounds < self.options.rounds and self.chosen["method"] == str(Method.WARP_INPAINT):
            cost = 3.5 * self._g_seconds() + 0.5 * self.state.seconds("calibration")
            if not self._affordable(cost, f"self-training round {rounds + 1}"):
                break
            label = (self.chosen["motion"], self.chosen["tau"])
            new = {
                part: self._g(part, rounds + 1, segs[part].with_suffix(".pt"), segs[part], label)
                for part in FOLDS
            }
            grid = [
                Candidate(Method.WARP_INPAINT, tau, self.chosen["motion"])
                for tau in calibrate.neighbours(self.chosen["tau"])
            ]
            found = self.estimate(f"calibration round {rounds + 1}", grid, self._models(new))
            if _score(_best(found)) < _score(self.chosen) + IMPROVEMENT:
                self.notes.append(
                    f"self-training round {rounds + 1} did not raise the estimate: stopped after {rounds}"
                )
                break
            segs.update(new)
            self.chosen, rounds = _best(found), rounds + 1
            self.state.stage(f"labels for round {rounds}", lambda used=label: list(used))
        return rounds

    def _refiner(self, segs: dict[str, Path], g_source: str) -> bool:
        """Train Omega on each fold's complement through the chosen engines; True if it beats the best."""
        if self.chosen["method"] == str(Method.MOTION_ONLY):
            self.notes.append("motion-only was best: no refiner trained (it refines warp-inpaint)")
            return False
        final_g = 0.0 if g_source == "shipped" else self._g_seconds() * (1 + self._rounds_kept())
        trainings = 3.5 * self.schedule.refiner_steps * self.step_seconds[1] * self._slowdown()
        cost = trainings + self.state.seconds("calibration") + final_g  # folds, final Omega, their check
        if not self._affordable(cost, "training the refiner"):
            return False
        refiners = {part: self._omega(part, _onnx(segs[part])) for part in FOLDS}
        grid = [
            Candidate(Method.WARP_REFINE, tau, self.chosen["motion"])
            for tau in calibrate.neighbours(self.chosen["tau"])
        ]
        best = _best(self.estimate("calibration refiner", grid, self._models(segs, refiners)))
        if _score(best) < _score(self.chosen) + IMPROVEMENT:
            self.notes.append(
                f"Omega trained on the keyframes reached {_score(best):.1f} against "
                f"{_score(self.chosen):.1f} for {self.chosen['method']}: not kept"
            )
            return False
        self.chosen = best
        return True

    def _g_seconds(self) -> float:
        """What one training of g took: the faster fold's (a busy machine slows one, not the work)."""
        return min(self.state.seconds(f"g {part} round 0") for part in FOLDS)

    def _slowdown(self) -> float:
        """How much longer g's real training took than its planned steps (data, augmentation, a busy
        machine): the same holds for Omega, whose plan was timed the same way."""
        planned = self.schedule.seg_steps * self.step_seconds[0]
        return max(self._g_seconds() / planned, 1.0) if planned > 0 else 1.0

    def _rounds_kept(self) -> int:
        return sum(name.startswith("labels for round") for name in self.state.data["stages"])

    def _final(self, g_source: str, rounds: int, refiner_source: str | None) -> tuple[Path, Path | None]:
        """The chosen recipe on all keyframes: g (and its rounds), then Omega if one was trained and kept."""
        if g_source == "shipped":
            segmentation = self.shipped.seg
        else:
            segmentation = self._g("all", 0, self.init, None)
            for number in range(1, rounds + 1):
                label = tuple(self.state.data["stages"][f"labels for round {number}"])
                segmentation = self._g("all", number, segmentation, segmentation, label)
        if refiner_source == "trained":
            return segmentation, self._omega("all", _onnx(segmentation))
        return segmentation, self.shipped.refiner if refiner_source == "shipped" else None

    # --- pieces ------------------------------------------------------------------------------------

    def estimate(self, name: str, candidates: list[Candidate], models: dict[str, Models]) -> list[dict]:
        """Cross-validate (once: the result is stored with the stage); each estimate names its stage."""
        found = self.state.stage(
            name,
            lambda: [
                {**e.to_dict(), "stage": name}
                for e in calibrate.estimate(
                    self.keyframes, candidates, self.inputs.spec, self.motions, models,
                    radius=self.options.radius, progress=self.options.progress, description=name,
                )
            ],
        )  # fmt: skip
        self.records += found
        return list(found)

    def _g(
        self,
        part: str,
        round_: int,
        init: Path | None,
        labeler: Path | None,
        label: tuple[str, float] | None = None,
    ) -> Path:
        """g of a part after ``round_`` self-training rounds, trained now unless already."""

        def run() -> str:
            propagated = []
            if labeler is not None:
                motion, tau = label
                out = self.work / "labels" / f"{part}-r{round_}"
                propagated = label_drives(
                    out, self.keyframes, part, self.inputs, _onnx(labeler), motion, tau, self.options.radius,
                    self.options.progress,
                )  # fmt: skip
            return str(
                train_g(
                    self.work / "g" / f"{part}-r{round_}", manual=self.keyframes.manual(part, self.inputs),
                    propagated=propagated, inputs=self.inputs, config=self.config, init=init,
                    schedule=self.schedule, progress=self.options.progress,
                ).with_suffix(".pt")
            )  # fmt: skip

        return Path(self.state.stage(f"g {part} round {round_}", run))

    def _omega(self, part: str, segmentation: Path) -> Path:
        def run() -> str:
            return str(
                train_omega(
                    self.work / "refiner" / part, keyframes=self.keyframes, part=part, inputs=self.inputs,
                    segmentation=segmentation, motion=self.chosen["motion"], tau=self.chosen["tau"],
                    init=self.shipped.refiner if self.shipped else None, schedule=self.schedule,
                    cache=self.work / "cycles", progress=self.options.progress,
                ).with_suffix(".pt")
            )  # fmt: skip

        return Path(self.state.stage(f"refiner {part}", run))

    def _models(self, segs: dict[str, Path], refiners: dict[str, Path] | None = None) -> dict[str, Models]:
        device = self.options.device
        return {
            part: Models(
                load_segmentation(_onnx(segs[part]), device=device),
                load_refiner(_onnx(refiners[part]), device=device) if refiners else None,
            )
            for part in FOLDS
        }

    def _affordable(self, seconds: float, what: str) -> bool:
        """Whether ``what`` (about ``seconds``) still fits the budget; says so when it does not. The
        decision is stored like a stage, so a resumed run decides as the interrupted one did."""

        def decide() -> str | None:
            left = 60 * self.options.budget_minutes - self.state.elapsed
            if seconds <= left:
                return None
            return (
                f"{what} skipped: it needs about {seconds / 60:.0f} min and {max(left, 0) / 60:.0f} min of "
                "the budget were left (--budget-minutes)"
            )

        refused = self.state.stage(f"budget for {what}", decide)
        if refused:
            self.notes.append(refused)
        return refused is None

    def _plan(self) -> dict:
        """Steps for every training, from this machine's measured speed and the budget."""
        refiner = RefinerConfig(self.inputs.spec.num_classes, feature_channels=self.config.feature_channels)
        given = self.options.seg_steps and self.options.refiner_steps
        seg_seconds, refiner_seconds = (
            (0.0, 0.0) if given else seconds_per_step(self.config, refiner, (256, 320))
        )
        share = 60 * self.options.budget_minutes * TRAINING_SHARE
        seg_trainings, refiner_trainings = 3 * (1 + self.options.rounds), 3  # two folds and the final one
        seg_steps = int(share * 0.6 / seg_trainings / max(seg_seconds, 1e-3))
        refiner_steps = int(share * 0.4 / refiner_trainings / max(refiner_seconds, 1e-3))
        schedule = Schedule(
            seg_steps=self.options.seg_steps or min(max(seg_steps, 25), 3000),
            refiner_steps=self.options.refiner_steps or min(max(refiner_steps, 25), 2000),
            seg_lr=2e-3 if self.init is None else 5e-4 if self.shipped else 1e-3,
            refiner_lr=2e-3 if self.shipped is None else 5e-4,
        )
        return {"schedule": asdict(schedule), "seconds_per_step": [seg_seconds, refiner_seconds]}


def _start(seg_init: Path | str | None) -> Path | None:
    """The file g starts from: the one given, none for SCRATCH, else the shipped g."""
    if seg_init == SCRATCH:
        return None
    return Path(seg_init) if seg_init is not None else shipped_checkpoint("seg")


def _candidate(record: dict) -> Candidate:
    return Candidate(Method(record["method"]), record["tau"], record["motion"])


def _score(record: dict) -> float:
    return -1.0 if record["estimated_miou"] is None else record["estimated_miou"]


def _best(records: list[dict]) -> dict:
    """The highest estimate; ties go to the earlier (simpler) candidate."""
    return max(records, key=_score)


def _onnx(checkpoint: Path) -> str:
    """The ONNX export written beside a checkpoint: what the engines run."""
    return str(checkpoint.with_suffix(".onnx"))
