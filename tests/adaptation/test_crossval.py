"""Keyframe cross-validation: picks the known best setting, scores what bag_label would write, reads
no label but the keyframes'; Omega's check on the held-out keyframes' short cycles sees an Omega that
loses what warp-inpaint keeps."""

from __future__ import annotations

import builtins
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import make_panning_sequence
from doubles import CountingMotion, NoisyTruthSegmentation, RecordingRefiner, image_key

from warp_refine_ros.adaptation.crossval import Candidate, Models, best, cross_validate
from warp_refine_ros.adaptation.flow_cache import FlowCache
from warp_refine_ros.adaptation.short_cycles import CycleCheck, short_cycles
from warp_refine_ros.adaptation.streams import LabeledStream, held_out_keyframes
from warp_refine_ros.bags.keyframes import keyframes_from_directory
from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.bags.stream_index import index_stream, match_keyframes
from warp_refine_ros.bags.writer import ImageBagWriter
from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.propagation import Frame, Method, Propagator, StreamLabeler

TOPIC = "/cam/image_raw"
EVERY = 8
SLOW_S = CountingMotion.DELAY_S  # what a slow motion engine adds to each flow


class StillMotion:
    """A motion engine that sees no motion at all: the wrong answer for a panning camera."""

    name = "still"

    def flow(self, image: np.ndarray, reference: np.ndarray) -> np.ndarray:
        return np.zeros((*image.shape[:2], 2), np.float32)


@pytest.fixture
def noisy_pan(tmp_path: Path, spec):
    """A panning camera with strong sensor noise, exact motion, and a g that knows nothing (equal
    probabilities: 'road' everywhere): trusting the warp (a large tau) is right, and motion that
    sees no motion is wrong."""
    sequence = make_panning_sequence(spec, count=33, step=2, size=(64, 96))
    rng = np.random.default_rng(3)
    segmentation = NoisyTruthSegmentation(spec, margin=0.0, noise=0.0)
    bag, keyframes, truth = tmp_path / "drive", tmp_path / "keyframes", tmp_path / "truth"
    keyframes.mkdir()
    truth.mkdir()
    frames = []
    with ImageBagWriter(bag) as writer:
        for index, (frame, labels) in enumerate(zip(sequence.frames, sequence.truth, strict=True)):
            noise = rng.normal(0, 25, frame.image.shape)
            image = np.clip(frame.image + noise, 0, 255).astype(np.uint8)
            x, y = sequence.motion._position[image_key(frame.image)]
            sequence.motion.remember(image, x, y)
            segmentation.remember(image, labels)
            writer.write(TOPIC, frame.stamp_ns, image)
            cv2.imwrite(str(truth / f"{frame.stamp_ns}.png"), labels)
            if index % EVERY == 0:
                cv2.imwrite(str(keyframes / f"{frame.stamp_ns}.png"), labels)
            frames.append(Frame(image, frame.stamp_ns))
    with BagReader(bag) as reader:
        index = index_stream("drive", TOPIC, reader.image_index(TOPIC))
    labels = keyframes_from_directory(keyframes, ["cam_image_raw"], spec)["cam_image_raw"]
    stream = LabeledStream(
        bag, TOPIC, index, match_keyframes(index.stamps, labels.stamps, 0).by_index, labels
    )
    return stream, sequence, segmentation, frames, truth


CANDIDATES = [
    Candidate(Method.WARP_INPAINT, tau, motion) for motion in ("exact", "still") for tau in (10.0, 300.0)
]


def test_calibration_picks_the_known_best_setting(spec, noisy_pan):
    stream, sequence, segmentation, _, _ = noisy_pan
    windows = held_out_keyframes([stream], radius=EVERY)
    assert len(windows) == 5 and [w.distances for w in windows[:2]] == [[8], [8, 8]]
    motions = {"exact": sequence.motion, "still": StillMotion()}
    estimates = cross_validate(
        windows, CANDIDATES, spec, motions, lambda w: Models(segmentation), progress=False
    )
    assert best(estimates).candidate == Candidate(Method.WARP_INPAINT, 300.0, "exact")
    by = {e.candidate: e.miou for e in estimates}
    assert by[CANDIDATES[1]] > by[CANDIDATES[0]] + 0.05  # the colour test rejects most good warps at 10


def test_the_estimate_ranks_settings_as_the_per_frame_truth_does(spec, noisy_pan):
    stream, sequence, segmentation, frames, truth = noisy_pan
    from warp_refine_ros.evaluation.confusion import ConfusionMatrix

    motions = {"exact": sequence.motion, "still": StillMotion()}
    estimates = cross_validate(
        held_out_keyframes([stream], radius=EVERY),
        CANDIDATES,
        spec,
        motions,
        lambda w: Models(segmentation),
        progress=False,
    )
    truth_scores = {}
    for candidate in CANDIDATES:  # what bag_label writes for every frame, scored against its truth
        propagator = Propagator(
            candidate.method,
            spec,
            motion=motions[candidate.motion],
            segmentation=segmentation,
            tau=candidate.tau,
        )
        labeler, matrix = StreamLabeler(propagator, EVERY // 2), ConfusionMatrix.for_spec(spec)
        pushed = [Frame(f.image, f.stamp_ns) for f in frames]
        done = []
        for index, frame in enumerate(pushed):
            key = (
                cv2.imread(str(truth / f"{frame.stamp_ns}.png"), cv2.IMREAD_UNCHANGED)
                if index % EVERY == 0
                else None
            )
            done += labeler.push(frame, key)
        done += labeler.finish()
        for item in done:
            if item.labeling.offset:
                matrix.update(
                    cv2.imread(str(truth / f"{item.frame.stamp_ns}.png"), cv2.IMREAD_UNCHANGED),
                    item.labeling.labels,
                )
        truth_scores[candidate] = matrix.compute().miou
    estimated = {e.candidate: e.miou for e in estimates}
    pairs = [(a, b) for a in CANDIDATES for b in CANDIDATES if truth_scores[a] > truth_scores[b] + 0.02]
    assert len(pairs) >= 4  # the settings really differ
    assert all(estimated[a] > estimated[b] for a, b in pairs)  # every clear difference in the same order


def test_cross_validation_reads_no_label_but_the_keyframes(spec, noisy_pan, monkeypatch):
    stream, sequence, segmentation, _, truth = noisy_pan
    opened: list[str] = []
    real_open, real_imread = builtins.open, cv2.imread

    def recording_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def recording_imread(file, *args, **kwargs):
        opened.append(str(file))
        return real_imread(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", recording_open)
    monkeypatch.setattr(cv2, "imread", recording_imread)
    monkeypatch.setattr(Path, "read_bytes", lambda self: recording_open(self, "rb").read())
    windows, motions = held_out_keyframes([stream], radius=EVERY), {"exact": sequence.motion}
    cross_validate(windows, CANDIDATES[:1], spec, motions, lambda w: Models(segmentation), progress=False)
    labels_read = {f for f in opened if f.endswith(".png")}
    keyframes = {str(p) for p in stream.labels._files.values()}
    assert labels_read and labels_read <= keyframes
    assert not [f for f in opened if f.startswith(str(truth))]


def test_a_stage_that_reads_every_flow_from_the_flow_cache_gives_the_same_estimates_at_the_computed_cost(
    spec, noisy_pan, tmp_path: Path
):
    stream, sequence, segmentation, _, _ = noisy_pan
    windows = held_out_keyframes([stream], radius=EVERY)
    engine = CountingMotion(sequence.motion)
    motions = {"exact": FlowCache(engine, tmp_path, "exact")}
    candidates = [c for c in CANDIDATES if c.motion == "exact"]

    def stage():
        found = cross_validate(
            windows, candidates, spec, motions, lambda w: Models(segmentation), progress=False
        )
        return [e.to_dict() for e in found]

    first = stage()
    computed = engine.calls
    assert computed == sum(sum(w.distances) for w in windows)  # one flow a step of propagation
    second = stage()
    assert engine.calls == computed  # nothing computed again
    timed = "ms_per_frame"  # measured again each stage: the array work around the flows varies
    assert [{k: v for k, v in e.items() if k != timed} for e in second] == [
        {k: v for k, v in e.items() if k != timed} for e in first
    ]
    assert all(e[timed] >= 2 * 1000 * SLOW_S for e in second)  # the flows cost what computing them took


def test_the_estimate_scores_what_bag_label_writes_fused_inside_one_side_at_the_ends(spec, noisy_pan):
    stream, _, segmentation, _, _ = noisy_pan
    from warp_refine_ros.evaluation.confusion import ConfusionMatrix
    from warp_refine_ros.propagation.holdout import label_held_out

    windows = held_out_keyframes([stream], radius=EVERY)
    candidate = Candidate(Method.WARP_INPAINT, 300.0, "still")  # no motion seen: the two sides differ
    (estimate,) = cross_validate(
        windows, [candidate], spec, {"still": StillMotion()}, lambda w: Models(segmentation), progress=False
    )
    propagator = Propagator(
        candidate.method, spec, motion=StillMotion(), segmentation=segmentation, tau=candidate.tau
    )
    written, one_sided, fused_count = ConfusionMatrix.for_spec(spec), ConfusionMatrix.for_spec(spec), 0
    for window in windows:  # labeled here independently of cross_validate, from the same windows
        label = stream.labels.load
        before = label(stream.keyframes[window.first]) if window.first < window.position else None
        after = label(stream.keyframes[window.last]) if window.last > window.position else None
        images = stream.read(window.first, window.last)
        held = label_held_out(propagator, images, window.position - window.first, before, after)
        truth = label(window.keyframe)
        fused_count += held.fused is not None
        expected = held.fused if held.fused is not None else held.forward or held.backward
        written.update(truth, expected.labels)
        for side in (held.forward, held.backward):
            if side is not None:
                one_sided.update(truth, side.labels)
    assert 0 < fused_count < len(windows)  # both kinds of window occur: inner keyframes and the ends
    assert estimate.miou == pytest.approx(written.compute().miou)
    assert estimate.to_dict()["estimated_one_sided_miou"] == pytest.approx(
        100 * one_sided.compute().miou, abs=0.01
    )
    assert estimate.miou != pytest.approx(estimate.scores["one_sided"].miou)


class ForgetfulRefiner:
    """Omega double that drops the warped labels and answers with g's probabilities everywhere."""

    name = "forgetful-refiner"

    def refine(
        self, channels: np.ndarray, trusted: np.ndarray, segmentation: Segmentation, image: np.ndarray
    ) -> np.ndarray:
        return segmentation.probabilities


def check(noisy_pan, refiner, tau: float) -> CycleCheck:
    stream, sequence, segmentation, _, _ = noisy_pan
    return short_cycles(
        held_out_keyframes([stream], radius=EVERY),
        Candidate(Method.WARP_REFINE, tau, "exact"),
        segmentation.spec,
        sequence.motion,
        lambda window: Models(segmentation, refiner),
        radius=EVERY,
        progress=False,
    )


def test_an_omega_that_drops_the_warp_loses_to_warp_inpaint_on_short_cycles(noisy_pan) -> None:
    found = check(noisy_pan, ForgetfulRefiner(), tau=300.0)
    assert found.longest == EVERY // 2
    assert 0 < found.cycles <= 5 * 2 * found.longest  # five held-out keyframes, both ways, l = 1..4
    assert found.warp_inpaint > 70.0  # exact motion: the label comes back but where the pan left the image
    assert found.gain < -20.0  # g knows nothing here


def test_an_omega_that_keeps_the_warp_ties_warp_inpaint_where_the_warp_is_trusted(noisy_pan) -> None:
    found = check(noisy_pan, RecordingRefiner(), tau=300.0)  # the same labels but where motion left
    assert found.cycles > 0 and found.gain == pytest.approx(0.0, abs=0.01)
