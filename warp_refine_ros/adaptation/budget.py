"""adapt_labeler's time budget: how many steps each training gets, and whether an optional stage fits.

Trainings are sized once, when a run starts, from the speed measured on this machine; optional stages
(self-training rounds, fine-tuning Omega) are priced from what the run's own stages took and skipped,
with a note, when they would overrun ``--budget-minutes``. Every decision is stored like a stage, so a
resumed run decides as the interrupted one did.
"""

from __future__ import annotations

from dataclasses import asdict

from warp_refine_ros.adaptation.data import FOLDS
from warp_refine_ros.adaptation.models import Schedule, seconds_per_step
from warp_refine_ros.adaptation.options import Options
from warp_refine_ros.adaptation.state import State
from warp_refine_ros.networks.refiner import RefinerConfig
from warp_refine_ros.networks.segmentation import SegmentationConfig

TRAINING_SHARE = 0.65  # of the budget, for the trainings; the rest labels and cross-validates
REFINER_SHARE = 0.25  # of the trainings', for fine-tuning Omega (it starts pretrained); the rest for g
REFINER_STEPS = (50, 600)  # fine-tuning steps of Omega at least and at most
SEG_STEPS = (25, 3000)  # steps of each g training at least and at most


class Budget:
    """The run's schedule of training steps and its checks of what still fits."""

    def __init__(
        self,
        state: State,
        options: Options,
        notes: list[str],
        *,
        config: SegmentationConfig,
        classes: int,
        seg_lr: float,
    ) -> None:
        self.state, self.options, self.notes = state, options, notes
        plan = state.stage("plan", lambda: self._plan(config, classes, seg_lr))
        self.schedule = Schedule(**plan["schedule"])
        self.step_seconds: list[float] = plan["seconds_per_step"]

    def affordable(self, seconds: float, what: str) -> bool:
        """Whether ``what`` (about ``seconds``) still fits the budget; a note says so when it does not."""

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

    def g_seconds(self) -> float:
        """What one training of g took: the faster fold's (a busy machine slows one, not the work)."""
        return min(self.state.seconds(f"g {part} round 0") for part in FOLDS)

    def slowdown(self) -> float:
        """How much longer g's real training took than its planned steps (data, augmentation, a busy
        machine): the same holds for Omega, whose plan was timed the same way."""
        planned = self.schedule.seg_steps * self.step_seconds[0]
        return max(self.g_seconds() / planned, 1.0) if planned > 0 else 1.0

    def refiner_trainings(self) -> float:
        """Seconds of fine-tuning Omega for both folds and the final one (with some slack)."""
        return 3.5 * self.schedule.refiner_steps * self.step_seconds[1] * self.slowdown()

    def rounds_kept(self) -> int:
        return sum(name.startswith("labels for round") for name in self.state.data["stages"])

    def _plan(self, config: SegmentationConfig, classes: int, seg_lr: float) -> dict:
        """Steps for every training, from this machine's measured speed and the budget."""
        options = self.options
        given = options.seg_steps and options.refiner_steps
        seg_seconds, refiner_seconds = (
            (0.0, 0.0) if given else seconds_per_step(config, RefinerConfig(), classes)
        )
        share = 60 * options.budget_minutes * TRAINING_SHARE
        seg_trainings, refiner_trainings = 3 * (1 + options.rounds), 3  # two folds and the final one
        seg_steps = int(share * (1 - REFINER_SHARE) / seg_trainings / max(seg_seconds, 1e-3))
        refiner_steps = int(share * REFINER_SHARE / refiner_trainings / max(refiner_seconds, 1e-3))
        schedule = Schedule(
            seg_steps=options.seg_steps or min(max(seg_steps, SEG_STEPS[0]), SEG_STEPS[1]),
            refiner_steps=options.refiner_steps
            or min(max(refiner_steps, REFINER_STEPS[0]), REFINER_STEPS[1]),
            seg_lr=seg_lr,
            refiner_lr=5e-4,  # fine-tuning the pretrained Omega
        )
        return {"schedule": asdict(schedule), "seconds_per_step": [seg_seconds, refiner_seconds]}
