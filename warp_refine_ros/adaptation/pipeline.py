"""adapt_labeler: fit g, Omega, motion, tau and method to a team's camera from its keyframes.

1. Today's defaults and the shipped engines are cross-validated on the keyframes (the baseline).
2. g is trained on each fold's complement (from the shipped g when the class spec matches, from
   ``--seg-init`` when given, else from scratch) and motion x tau calibrated with it; it is kept where
   it beats the shipped g, both without Omega.
3. Self-training rounds: the drives are labeled from each fold's complement with its g, and g is
   trained again on those propagated frames mixed 70/30 with the manual ones, while the estimate rises.
4. Omega: the shipped, pretrained Omega (class-agnostic: it fits any spec) is cross-validated with the
   trained g, then fine-tuned by cycle consistency through the calibrated engines, each keyframe's
   cycles through the g that never saw it; warp-refine is kept only where it beats the best so far and
   holds against warp-inpaint on the keyframes' own short cycles, the distances bag_label's frames
   travel (short_cycles.py); the shipped g with the pretrained Omega (the baseline's) where it beats
   all of that and holds there too.
5. The chosen recipe is replayed on all keyframes: those are the models that ship in ``OUT``.
Every estimate labels a keyframe with models that never saw it; every flow is computed once
(flow_cache.py). Within a stage, settings estimated within a margin go to the cheaper (choice.py).
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from warp_refine_ros.adaptation import calibrate
from warp_refine_ros.adaptation.budget import Budget
from warp_refine_ros.adaptation.choice import MARGIN, choose, describe, improves, score
from warp_refine_ros.adaptation.cost import refiner_check_seconds
from warp_refine_ros.adaptation.crossval import Candidate, Models
from warp_refine_ros.adaptation.data import FOLDS, Inputs, Keyframes, fingerprint, match
from warp_refine_ros.adaptation.models import label_drives, train_g, train_omega
from warp_refine_ros.adaptation.options import Options, Outcome, shipped_checkpoint, shipped_seg_fitting
from warp_refine_ros.adaptation.short_cycles import CycleCheck, short_cycles
from warp_refine_ros.adaptation.state import State
from warp_refine_ros.adaptation.streams import held_out_keyframes
from warp_refine_ros.engines.loading import (
    EngineSet,
    canonical_motion,
    default_engines,
    load_refiner,
    load_segmentation,
)
from warp_refine_ros.errors import DatasetError
from warp_refine_ros.networks.pretrained import starting_config
from warp_refine_ros.networks.segmentation import SegmentationConfig
from warp_refine_ros.propagation import Method
from warp_refine_ros.propagation.config import PropagationConfig
from warp_refine_ros.training.refiner_trainer import CycleGroup

SCRATCH = "scratch"  # --seg-init value: g from random weights


def today() -> Candidate:
    """What bag_label runs without adaptation: the shipped engine set's motion with the default settings."""
    shipped = default_engines()
    config = PropagationConfig.found_in(EngineSet.settings_in_yaml(shipped), f"engine set {shipped}")
    return Candidate(config.method, config.tau, canonical_motion(EngineSet.names_in_yaml(shipped)["motion"]))


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
        self.shipped_seg = shipped_seg_fitting(inputs.spec)
        self.pretrained = shipped_checkpoint("refiner")  # Omega is class-agnostic: it fits any spec
        # The shipped g is the default start even for other classes: its encoder knows streets, and
        # only the classifier starts anew (a g from scratch learns little from a few keyframes).
        self.init = _start(options.seg_init)
        self.config = (
            starting_config(self.init, inputs.spec)
            if self.init
            else SegmentationConfig(inputs.spec.num_classes)
        )
        names = [*calibrate.DIS_PRESETS, *([str(options.motion)] if options.motion else [])]
        self.flows = self.work / "flows"  # every stage's flows, freed when the run ends (flow_cache.py)
        self.motions = calibrate.load_motions(names, options.device, self.flows)
        self.records: list[dict] = []
        self.notes: list[str] = []
        seg_lr = 2e-3 if self.init is None else 5e-4 if self.shipped_seg else 1e-3
        self.budget = Budget(
            self.state,
            options,
            self.notes,
            config=self.config,
            classes=inputs.spec.num_classes,
            seg_lr=seg_lr,
        )
        self.chosen: dict = {}

    # --- the run -------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Every stage in order (finished ones are read back); the models and settings to ship."""
        today, baseline = self._baseline()
        segs = {part: self._g(part, 0, self.init, None) for part in FOLDS}
        grid = calibrate.warp_inpaint_grid(list(self.motions), methods=(Method.WARP_INPAINT,))
        self.chosen = self._choose(self.estimate("calibration", grid, self._models(segs)))
        g_source = "trained"
        shipped_best = choose([r for r in baseline if Candidate.of(r).method is not Method.WARP_REFINE])[0]
        if score(shipped_best) >= score(self.chosen):  # g against g, both without Omega
            self.chosen, g_source = shipped_best, "shipped" if self.shipped_seg is not None else "trained"
            self.notes.append(
                f"warp-inpaint with g trained on the keyframes did not beat {describe(shipped_best)} with "
                f"{'the shipped g' if self.shipped_seg else 'motion alone'} in cross-validation: kept that"
            )
        rounds = self._self_training(segs) if g_source == "trained" else 0
        if g_source == "shipped":
            segs = {part: self.shipped_seg for part in FOLDS}
        shipped_refiner = [r for r in baseline if Candidate.of(r).method is Method.WARP_REFINE]
        refiner_source = self._refiner(segs, g_source, shipped_refiner if g_source == "shipped" else [])
        if (
            shipped_refiner
            and improves(shipped_refiner[0], self.chosen, self.options.min_fps)
            and self._holds_near(shipped_refiner[0], "shipped g and pretrained Omega", self._shipped_models)
        ):
            self.notes.append(
                f"the shipped g and pretrained Omega ({describe(shipped_refiner[0])}) beat "
                f"{describe(self.chosen)}: kept them"
            )
            self.chosen, g_source, rounds, refiner_source = shipped_refiner[0], "shipped", 0, "pretrained"
        segmentation, refiner = self._final(g_source, rounds, refiner_source, segs)
        shutil.rmtree(self.flows, ignore_errors=True)  # no estimate is made after this
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

    def _baseline(self) -> tuple[dict, list[dict]]:
        """Today's defaults, and the estimates of the shipped engines at every motion and tau with
        warp-refine at the best of them (of motion-only when they do not fit the class spec)."""
        motions = list(calibrate.DIS_PRESETS)
        if self.shipped_seg is None:
            grid = [Candidate(Method.MOTION_ONLY, calibrate.MOTION_ONLY_TAU, motion) for motion in motions]
            found = self.estimate("baseline", grid, {part: Models() for part in FOLDS})
            return next(r for r in found if Candidate.of(r).motion == self.today.motion), found
        shipped = self._shipped_models()
        found = self.estimate("baseline", calibrate.warp_inpaint_grid(motions), shipped)
        best = Candidate.of(self._choose(found))
        with_omega = Candidate(Method.WARP_REFINE, best.tau, best.motion)
        refine = [with_omega] if best.method is not Method.MOTION_ONLY else []
        missing = [c for c in [self.today, *refine] if all(Candidate.of(r) != c for r in found)]
        if missing:
            found = [*found, *self.estimate("baseline refiner", missing, shipped)]
        return next(r for r in found if Candidate.of(r) == self.today), found

    def _self_training(self, segs: dict[str, Path]) -> int:
        """Rounds of labeling the drives and training g on the result, while cross-validation improves."""
        rounds = 0
        while rounds < self.options.rounds and Candidate.of(self.chosen).method is Method.WARP_INPAINT:
            cost = 3.5 * self.budget.g_seconds() + 0.5 * self.state.seconds("calibration")
            omega = 2 * self._refiner_check_seconds + self.budget.refiner_trainings()  # kept for Omega
            if not self.budget.affordable(cost + omega, f"self-training round {rounds + 1}"):
                break
            chosen = Candidate.of(self.chosen)
            label = (chosen.motion, chosen.tau)
            new = {
                part: self._g(part, rounds + 1, segs[part].with_suffix(".pt"), segs[part], label)
                for part in FOLDS
            }
            grid = [
                Candidate(Method.WARP_INPAINT, tau, chosen.motion) for tau in calibrate.neighbours(chosen.tau)
            ]
            found = self._choose(self.estimate(f"calibration round {rounds + 1}", grid, self._models(new)))
            if not improves(found, self.chosen, self.options.min_fps):
                self.notes.append(
                    f"self-training round {rounds + 1} did not raise the estimate: stopped after {rounds}"
                )
                break
            segs.update(new)
            self.chosen, rounds = found, rounds + 1
            self.state.stage(f"labels for round {rounds}", lambda used=label: list(used))
        return rounds

    def _refiner(self, segs: dict[str, Path], g_source: str, estimated: list[dict]) -> str | None:
        """Omega with the calibrated engines and tau: the pretrained one (its record in ``estimated``
        when made already: the baseline's, with the shipped g), then fine-tuned on the keyframes' cycles
        if the budget allows; which ("pretrained", "trained") beats the best so far, or None."""
        chosen = Candidate.of(self.chosen)
        tau = chosen.tau if chosen.method is not Method.MOTION_ONLY else calibrate.DEFAULT_TAU
        grid = [Candidate(Method.WARP_REFINE, tau, chosen.motion)]
        known = [r for r in estimated if Candidate.of(r) == grid[0]]
        source, refiners = "pretrained", {part: self.pretrained for part in FOLDS}
        if known:
            best, check = known[0], self._refiner_check_seconds
        elif self.budget.affordable(self._refiner_check_seconds, "cross-validating the refiner"):
            best = self._choose(
                self.estimate("calibration pretrained refiner", grid, self._models(segs, refiners))
            )
            check = self.state.seconds("calibration pretrained refiner")
        else:
            return None
        final_g = 0.0 if g_source == "shipped" else self.budget.g_seconds() * (1 + self.budget.rounds_kept())
        if self.budget.affordable(
            self.budget.refiner_trainings() + check + final_g, "fine-tuning the refiner"
        ):
            tuned = {part: self._omega(part, Candidate.of(best), segs) for part in FOLDS}
            found = self._choose(self.estimate("calibration refiner", grid, self._models(segs, tuned)))
            if score(found) > score(best):
                best, source, refiners = found, "trained", tuned
        if not improves(best, self.chosen, self.options.min_fps):
            self.notes.append(
                f"warp-refine with the {source} Omega reached {describe(best)} against "
                f"{describe(self.chosen)}: not kept"
            )
            return None
        named = f"{g_source} g and {source} Omega"
        if not self._holds_near(best, named, lambda: self._models(segs, refiners)):
            return None
        self.chosen = best
        return source

    def _holds_near(self, record: dict, models_named: str, models: Callable[[], dict[str, Models]]) -> bool:
        """Whether warp-refine (``record``, made with ``models``) also holds against warp-inpaint where
        bag_label's frames travel: on the keyframes' short cycles (short_cycles.py), within MARGIN.
        Unchecked, with the budget's note, when the check does not fit."""
        if not self.budget.affordable(self._refiner_check_seconds, f"short cycles with the {models_named}"):
            return True
        setting = Candidate.of(record)

        def run() -> dict:
            found = models()
            check = short_cycles(
                held_out_keyframes(self.keyframes.streams, self.options.radius), setting, self.inputs.spec,
                self.motions[setting.motion], lambda window: found[self.keyframes.model_for(window)],
                radius=self.options.radius, progress=self.options.progress,
            )  # fmt: skip
            return check.to_dict()

        check = CycleCheck.from_dict(self.state.stage(f"short cycles with the {models_named}", run))
        record["short_cycles"] = check.to_dict()
        if check.gain is None or check.gain >= -MARGIN:
            return True
        self.notes.append(
            f"warp-refine with the {models_named} reached {describe(record)} across the keyframe spacing "
            f"but lost {-check.gain:.1f} points to warp-inpaint on the keyframes' own cycles of "
            f"1..{check.longest} frames ({check.warp_refine:.1f} against {check.warp_inpaint:.1f}), the "
            "distances bag_label's frames travel: not kept"
        )
        return False

    @functools.cached_property
    def _refiner_check_seconds(self) -> float:
        """What cross-validating one warp-refine setting takes on this camera (cost.py)."""
        refiner = load_refiner(_onnx(self.pretrained), device=self.options.device)
        return refiner_check_seconds(self.keyframes.streams, refiner, self.options.radius, self.inputs.spec)

    def _choose(self, records: list[dict]) -> dict:
        """The setting to take among a stage's records (choice.py), saying so when its cost decided."""
        chosen, note = choose(records, self.options.min_fps)
        if note:
            self.notes.append(note)
        return chosen

    def _final(
        self, g_source: str, rounds: int, refiner_source: str | None, segs: dict[str, Path]
    ) -> tuple[Path, Path | None]:
        """The chosen recipe on all keyframes: g (and its rounds), then Omega: fine-tuned on every
        keyframe's cycles, or the pretrained one."""
        if g_source == "shipped":
            segmentation = self.shipped_seg
        else:
            segmentation = self._g("all", 0, self.init, None)
            for number in range(1, rounds + 1):
                label = tuple(self.state.data["stages"][f"labels for round {number}"])
                segmentation = self._g("all", number, segmentation, segmentation, label)
        if refiner_source == "trained":
            return segmentation, self._omega("all", Candidate.of(self.chosen), segs)
        return segmentation, self.pretrained if refiner_source == "pretrained" else None

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
                    schedule=self.budget.schedule, progress=self.options.progress,
                ).with_suffix(".pt")
            )  # fmt: skip

        return Path(self.state.stage(f"g {part} round {round_}", run))

    def _omega(self, part: str, setting: Candidate, segs: dict[str, Path]) -> Path:
        """Omega of a part fine-tuned from the pretrained one on its keyframes' cycles, each through the
        g that never saw it (the other fold's), with the setting's motion and tau."""

        def run() -> str:
            groups = [
                CycleGroup(self.keyframes.sources(fold), _onnx(segs[_other(fold)]))
                for fold in FOLDS
                if part in ("all", fold)
            ]
            return str(
                train_omega(
                    self.work / "refiner" / part, groups=groups, spec=self.inputs.spec,
                    motion=setting.motion, tau=setting.tau, init=self.pretrained,
                    schedule=self.budget.schedule,
                    cache=self.work / "cycles", progress=self.options.progress,
                ).with_suffix(".pt")
            )  # fmt: skip

        return Path(self.state.stage(f"refiner {part}", run))

    def _shipped_models(self) -> dict[str, Models]:
        """The shipped g and the pretrained Omega for every part (they saw none of the keyframes)."""
        models = Models(load_segmentation(_onnx(self.shipped_seg)), load_refiner(_onnx(self.pretrained)))
        return {part: models for part in FOLDS}

    def _models(self, segs: dict[str, Path], refiners: dict[str, Path] | None = None) -> dict[str, Models]:
        device = self.options.device
        return {
            part: Models(
                load_segmentation(_onnx(segs[part]), device=device),
                load_refiner(_onnx(refiners[part]), device=device) if refiners else None,
            )
            for part in FOLDS
        }


def _start(seg_init: Path | str | None) -> Path | None:
    """The file g starts from: the one given, none for SCRATCH, else the shipped g."""
    if seg_init == SCRATCH:
        return None
    return Path(seg_init) if seg_init is not None else shipped_checkpoint("seg")


def _other(fold: str) -> str:
    """The other fold: its models were trained on this fold's held-out keyframes, never on its own."""
    return FOLDS[1 - FOLDS.index(fold)]


def _onnx(checkpoint: Path) -> str:
    """The ONNX export written beside a checkpoint: what the engines run."""
    return str(checkpoint.with_suffix(".onnx"))
