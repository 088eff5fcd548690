"""ConfusionMatrix on hand-made arrays whose IoUs are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from warp_refine_ros.evaluation import ConfusionMatrix
from warp_refine_ros.labels import LabelClass, LabelSpec

# Ids deliberately not 0..C-1: channels are a=3, b=7, c=20.
SPARSE = LabelSpec(
    (LabelClass(3, "a", (255, 0, 0)), LabelClass(7, "b", (0, 255, 0)), LabelClass(20, "c", (0, 0, 255)))
)


def test_hand_counted_scores_with_ignored_truth_predicted_ignore_and_absent_class() -> None:
    truth = np.array([[3, 3, 3, 7], [7, 7, 255, 255]], dtype=np.uint8)
    pred = np.array([[3, 3, 255, 7], [7, 3, 7, 20]], dtype=np.uint8)
    matrix = ConfusionMatrix.for_spec(SPARSE)
    matrix.update(truth, pred)
    scores = matrix.compute()
    # a: TP 2, FN 1 (predicted ignore), FP 1 (a b pixel called a) -> 2/4.
    # b: TP 2, FN 1 -> 2/3. The b and c predictions on ignored truth are not counted, so c is absent.
    assert scores.iou[0] == pytest.approx(0.5)
    assert scores.iou[1] == pytest.approx(2 / 3)
    assert scores.iou[2] is None
    assert scores.miou == pytest.approx((0.5 + 2 / 3) / 2)
    assert scores.pixels == 6
    assert scores.pixel_accuracy == pytest.approx(4 / 6)
    assert scores.coverage == pytest.approx(5 / 6)
    assert matrix.mat.tolist() == [[2, 0, 0, 1], [1, 2, 0, 0], [0, 0, 0, 0]]


def test_abstaining_everywhere_scores_zero_not_undefined() -> None:
    truth = np.full((3, 3), 3, dtype=np.uint8)
    matrix = ConfusionMatrix.for_spec(SPARSE)
    matrix.update(truth, np.full_like(truth, 255))
    scores = matrix.compute()
    assert scores.iou == (0.0, None, None)
    assert scores.miou == 0.0
    assert scores.pixel_accuracy == 0.0
    assert scores.coverage == 0.0


def test_only_ignored_truth_gives_no_scores() -> None:
    matrix = ConfusionMatrix.for_spec(SPARSE)
    matrix.update(np.full((2, 2), 255, np.uint8), np.full((2, 2), 3, np.uint8))
    scores = matrix.compute()
    assert scores.iou == (None, None, None)
    assert scores.miou is None and scores.pixel_accuracy is None and scores.coverage is None
    assert scores.pixels == 0


def test_one_bincount_matches_pixel_by_pixel_counting() -> None:
    rng = np.random.default_rng(0)
    ids = np.array([0, 1, 2, 4, 255], dtype=np.uint8)  # 4 is not a class of ConfusionMatrix(3)
    truth, pred = rng.choice(ids, (2, 40, 50)).astype(np.uint8)
    matrix = ConfusionMatrix(3)
    matrix.update(truth, pred)
    expected = np.zeros((3, 4), dtype=np.int64)
    for t, p in zip(truth.ravel(), pred.ravel(), strict=True):
        if t < 3:
            expected[t, p if p < 3 else 3] += 1
    np.testing.assert_array_equal(matrix.mat, expected)


def test_updates_accumulate_pool_and_reset() -> None:
    first, second = ConfusionMatrix.for_spec(SPARSE), ConfusionMatrix.for_spec(SPARSE)
    a = np.array([[3, 7]], dtype=np.uint8)
    b = np.array([[7, 20]], dtype=np.uint8)
    first.update(a, b)
    second.update(b, b)
    both = ConfusionMatrix.for_spec(SPARSE)
    both.update(a, b)
    both.update(b, b)
    first += second
    np.testing.assert_array_equal(first.mat, both.mat)
    both.reset()
    assert both.mat.sum() == 0


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        ConfusionMatrix(2).update(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))


def test_non_uint8_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="must be uint8"):
        ConfusionMatrix(2).update(np.zeros((2, 2), np.int32), np.zeros((2, 2), np.int32))
