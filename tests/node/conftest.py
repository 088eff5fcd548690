"""Synthetic drive frames and real engines (DIS motion, noisy-truth segmentation) for the node tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest
from doubles import NoisyTruthSegmentation, RecordingRefiner, image_key

from warp_refine_ros.engines import EngineSet, Segmentation
from warp_refine_ros.engines.dis import DisMotion
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.node import LabelingSession, LabelOutput, SessionConfig
from warp_refine_ros.propagation import Frame, Labeling, Method, Propagator, StreamLabeler
from warp_refine_ros.synth import DriveConfig, SynthFrame, render_drive


class SharedSegmentation:
    """Answers each distinct image once and shares the answer: the session and the reference labeler
    see identical g(I) while the slow noisy-truth engine runs once per image for the whole module."""

    def __init__(self, engine: NoisyTruthSegmentation) -> None:
        self.engine = engine
        self.name = engine.name
        self.spec = engine.spec
        self._answers: dict[str, Segmentation] = {}

    def segment(self, image: np.ndarray) -> Segmentation:
        key = image_key(image)
        if key not in self._answers:
            self._answers[key] = self.engine.segment(image)
        return self._answers[key]


Event = tuple[str, SynthFrame]  # ("frame" | "key", frame)


@dataclass
class DriveKit:
    """A short synthetic drive and engines that know its ground truth."""

    spec: LabelSpec
    frames: list[SynthFrame]
    segmentation: SharedSegmentation
    warnings: list[str] = field(default_factory=list)

    def engines(self, method: Method | str = Method.WARP_INPAINT) -> EngineSet:
        """Fresh engines for one run: real DIS flow, the shared segmentation, an identity refiner."""
        method = Method.parse(method)
        return EngineSet(
            motion=DisMotion(),
            segmentation=self.segmentation,
            refiner=RecordingRefiner() if method.needs_refiner else None,
        )

    def session(
        self,
        method: Method | str = Method.WARP_INPAINT,
        *,
        engines: EngineSet | None = None,
        **config: object,
    ) -> LabelingSession:
        """A new session; what it warns about collects in ``self.warnings``."""
        self.warnings.clear()
        return LabelingSession(
            self.spec,
            engines or self.engines(method),
            SessionConfig().with_changes(method=method, **config),
            warn=self.warnings.append,
        )

    def reference(
        self, frames: Sequence[SynthFrame], keyframes: Iterable[int], radius: int, method=Method.WARP_INPAINT
    ) -> dict[int, Labeling]:
        """What bag_label writes for these frames: StreamLabeler with the keyframes in stream order."""
        engines = self.engines(method)
        propagator = Propagator(
            method,
            self.spec,
            motion=engines.motion,
            segmentation=engines.segmentation,
            refiner=engines.refiner,
        )
        labeler = StreamLabeler(propagator, radius)
        keys = set(keyframes)
        found = {}
        for frame in frames:
            labels = frame.labels if frame.index in keys else None
            for labeled in labeler.push(Frame(frame.image, frame.stamp_ns), labels):
                found[labeled.frame.stamp_ns] = labeled.labeling
        for labeled in labeler.finish():
            found[labeled.frame.stamp_ns] = labeled.labeling
        return found

    @staticmethod
    def play(
        session: LabelingSession, events: Iterable[Event], relabel_steps: int | None = None
    ) -> list[LabelOutput]:
        """Feed frames and keyframe labels in the given order, with up to ``relabel_steps`` relabel steps
        after each (None: all that wait, as an idle node runs them) and the rest at the end; every label
        image the session returned."""
        outputs = []
        for kind, frame in events:
            if kind == "frame":
                outputs += session.add_frame(frame.image, frame.stamp_ns, "camera")
            else:
                outputs += session.add_keyframe(frame.labels, frame.stamp_ns)
            steps = 0
            while session.relabeling and (relabel_steps is None or steps < relabel_steps):
                outputs += session.relabel_step()
                steps += 1
        while session.relabeling:
            outputs += session.relabel_step()
        return outputs

    @staticmethod
    def latest(outputs: Iterable[LabelOutput]) -> dict[int, LabelOutput]:
        """The last label image published for each stamp."""
        return {output.stamp_ns: output for output in outputs}

    @staticmethod
    def assert_same_as(final: dict[int, LabelOutput], expected: dict[int, Labeling]) -> None:
        """The session's last labels equal bag_label's frame by frame: ids, confidence, keyframe, offset."""
        assert sorted(final) == sorted(expected)
        for stamp, labeling in expected.items():
            output = final[stamp]
            assert (output.keyframe_stamp_ns, output.offset) == (labeling.keyframe_stamp_ns, labeling.offset)
            np.testing.assert_array_equal(output.labels, labeling.labels, err_msg=f"labels at {stamp}")
            np.testing.assert_array_equal(
                output.confidence, labeling.confidence, err_msg=f"confidence at {stamp}"
            )


@pytest.fixture(scope="module")
def kit() -> DriveKit:
    spec = LabelSpec.default()
    drive = render_drive(DriveConfig(width=160, height=120, frames=40, seed=0))
    truth = NoisyTruthSegmentation(spec)
    for frame in drive.frames:
        truth.remember(frame.image, frame.labels)
    return DriveKit(spec, drive.frames, SharedSegmentation(truth))
