"""The network backends plugged into the propagation: warp-refine runs end to end on real engines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from warp_refine_ros.engines.dis import DisMotion
from warp_refine_ros.engines.loading import EngineSet
from warp_refine_ros.engines.onnx_backend import OnnxMotion
from warp_refine_ros.propagation import Method, Propagator, StreamLabeler
from warp_refine_ros.propagation.probabilities import argmax_confidence


def constant_flow_model(path: Path, dx: float, dy: float) -> Path:
    """An ONNX motion model answering (dx, dy) everywhere: 0 * (mean_c image, mean_c reference) + shift."""
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["image"], ["image_mean"], axes=[1], keepdims=1),
            helper.make_node("ReduceMean", ["reference"], ["reference_mean"], axes=[1], keepdims=1),
            helper.make_node("Concat", ["image_mean", "reference_mean"], ["means"], axis=1),
            helper.make_node("Mul", ["means", "zero"], ["zeros"]),
            helper.make_node("Add", ["zeros", "shift"], ["flow"]),
        ],
        "constant_flow",
        [
            helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, "height", "width"])
            for n in ("image", "reference")
        ],
        [helper.make_tensor_value_info("flow", TensorProto.FLOAT, [1, 2, "height", "width"])],
        initializer=[
            helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
            helper.make_tensor("shift", TensorProto.FLOAT, [1, 2, 1, 1], [dx, dy]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("suffix", ["onnx", "pt"])
def test_warp_refine_runs_end_to_end_with_network_engines(network_files, spec, panning, suffix: str) -> None:
    engines = EngineSet.from_files(
        motion="dis",
        segmentation=str(network_files[f"segmentation.{suffix}"]),
        refiner=str(network_files[f"refiner.{suffix}"]),
    )
    propagator = Propagator(
        Method.WARP_REFINE,
        spec,
        motion=engines.motion,
        segmentation=engines.segmentation,
        refiner=engines.refiner,
    )
    labeler = StreamLabeler(propagator, radius=2)
    labeled = []
    for index, frame in enumerate(panning.frames[:6]):
        keyframe = panning.truth[index] if index in (0, 5) else None
        labeled.extend(labeler.push(frame, keyframe))
    labeled.extend(labeler.finish())

    assert [item.frame.stamp_ns for item in labeled] == [f.stamp_ns for f in panning.frames[:6]]
    for item in labeled:
        labels = item.labeling.labels
        assert labels.shape == panning.truth[0].shape and labels.dtype == np.uint8
        assert set(np.unique(labels)) <= {*spec.ids.tolist(), spec.ignore_id}
        if item.labeling.offset:  # g ran through the real engine (its coarse grid) on every propagated frame
            assert item.frame.segmentation.coarse.shape[0] < labels.shape[0]
    offsets = sorted(item.labeling.offset for item in labeled)
    assert offsets == [-2, -1, 0, 0, 1, 2]


def test_refiner_changes_the_warp_inpainted_labels(network_files, spec, panning) -> None:
    engines = EngineSet.from_files(
        segmentation=str(network_files["segmentation.onnx"]), refiner=str(network_files["refiner.onnx"])
    )
    kwargs = {"motion": DisMotion(), "segmentation": engines.segmentation, "refiner": engines.refiner}
    inpaint = Propagator(Method.WARP_INPAINT, spec, **kwargs)
    refine = Propagator(Method.WARP_REFINE, spec, **kwargs)
    source, target = panning.frames[0], panning.frames[1]
    start = inpaint.keyframe(panning.truth[0])
    blended = inpaint.step(start, source, target)
    refined = refine.step(start, source, target)
    np.testing.assert_allclose(refined.sum(axis=-1), 1.0, atol=1e-5)
    assert not np.array_equal(argmax_confidence(blended)[0], argmax_confidence(refined)[0])


def test_onnx_motion_drives_motion_only_propagation(tmp_path: Path, spec, panning) -> None:
    """The panning camera moves 3 px right a frame: a model answering flow (3, 0) follows it exactly."""
    motion = OnnxMotion(constant_flow_model(tmp_path / "pan.onnx", 3.0, 0.0))
    propagator = Propagator(Method.MOTION_ONLY, spec, motion=motion)
    state = propagator.keyframe(panning.truth[0])
    for source, target in zip(panning.frames[:4], panning.frames[1:5], strict=True):
        state = propagator.step(state, source, target)
    labels = spec.to_ids(argmax_confidence(state)[0])
    assert np.array_equal(labels[:, :-12], panning.truth[4][:, :-12])
    assert (labels[:, -12:] == spec.ignore_id).all()
