"""Class specs and label validation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from warp_refine_ros.errors import LabelError
from warp_refine_ros.labels import LabelSpec, read_label_png


def test_default_spec_is_cityscapes_19(spec):
    assert spec.num_classes == 19 and spec.ignore_id == 255
    assert spec.names[0] == "road" and spec.names[-1] == "bicycle"


def test_yaml_round_trip_keeps_non_contiguous_ids(tmp_path):
    data = {
        "classes": [
            {"id": 3, "name": "floor", "color": [1, 2, 3]},
            {"id": 7, "name": "wall", "color": [4, 5, 6]},
        ],
        "ignore_id": 0,
    }
    spec = LabelSpec.from_dict(data)
    spec.to_yaml(tmp_path / "spec.yaml")
    again = LabelSpec.from_yaml(tmp_path / "spec.yaml")
    assert again == spec
    labels = np.array([[3, 7, 0]], dtype=np.uint8)
    probs = again.one_hot(labels)
    assert probs[0].tolist() == [[1, 0], [0, 1], [0, 0]]
    assert again.to_ids(np.array([[1, 0, 255]], dtype=np.uint8)).tolist() == [[7, 3, 0]]
    assert again.colorize(labels).tolist() == [[[1, 2, 3], [4, 5, 6], [0, 0, 0]]]


def test_validate_accepts_known_ids_and_ignore(spec):
    labels = np.array([[0, 18, 255]], dtype=np.uint8)
    assert spec.validate(labels, shape=(1, 3, 3)) is labels


@pytest.mark.parametrize(
    ("labels", "shape", "message"),
    [
        (np.zeros((4, 4, 3), np.uint8), None, r"one-channel \(H, W\)"),
        (np.zeros((4, 4), np.uint16), None, "uint8"),
        (np.zeros((4, 4), np.uint8), (4, 5), "label is 4x4 but the image is 5x4"),
        (np.array([[0, 19, 40]], np.uint8), None, r"ids \[19, 40\] are not in the class spec"),
    ],
)
def test_validate_rejects_bad_labels_with_the_reason(spec, labels, shape, message):
    with pytest.raises(LabelError, match=message):
        spec.validate(labels, shape=shape, name="kf.png")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("classes: []", "no classes"),
        ("classes: [{id: 1, name: a, color: [0, 0, 0]}, {id: 1, name: b, color: [0, 0, 0]}]", "repeats ids"),
        ("classes: [{id: 255, name: a, color: [0, 0, 0]}]", "differ from ignore_id"),
        ("classes: [{id: 1, name: a}]", "needs id, name and color"),
        ("classes: [{id: 1, name: a, color: [0, 300, 0]}]", "not \\[r, g, b\\]"),
        ("nothing: here", "'classes' list"),
        ("classes: [", "not valid YAML"),
        ("classes: [{id: 2.7, name: a, color: [0, 0, 0]}]", "id 2.7 is not an integer"),
        (
            "classes: [{id: 1, name: a, color: [0, 0, 0]}, {id: 2, name: a, color: [1, 1, 1]}]",
            "repeats names",
        ),
    ],
)
def test_bad_class_specs_name_the_file_and_problem(tmp_path, text, message):
    path = tmp_path / "classes.yaml"
    path.write_text(text)
    with pytest.raises(LabelError, match=message) as info:
        LabelSpec.from_yaml(path)
    assert str(path) in str(info.value)


def test_missing_spec_file_is_named(tmp_path):
    with pytest.raises(LabelError, match="does not exist"):
        LabelSpec.from_yaml(tmp_path / "nope.yaml")


def test_read_label_png_rejects_colour_images(tmp_path):
    cv2.imwrite(str(tmp_path / "rgb.png"), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(LabelError, match=r"a colour \(RGB\) 8-bit image; a label PNG must hold one channel"):
        read_label_png(tmp_path / "rgb.png")
    with pytest.raises(LabelError, match="cannot read"):
        read_label_png(tmp_path / "missing.png")
    cv2.imwrite(str(tmp_path / "ok.png"), np.full((4, 4), 13, np.uint8))
    assert (read_label_png(tmp_path / "ok.png") == 13).all()


def test_a_16_bit_label_with_ids_over_255_says_so(tmp_path):
    ids = np.full((4, 6), 7, np.uint16)
    ids[1, 2], ids[3, 5] = 300, 1024  # e.g. instance ids, or class ids times 256
    cv2.imwrite(str(tmp_path / "wide.png"), ids)
    with pytest.raises(LabelError) as error:
        read_label_png(tmp_path / "wide.png")
    message = str(error.value)
    assert "one-channel 16-bit" in message and "multi-channel" not in message
    assert "ids up to 1024 (2 pixels over 255)" in message and "class ids must be < 256" in message
    cv2.imwrite(str(tmp_path / "narrow.png"), np.full((4, 6), 200, np.uint16))
    assert read_label_png(tmp_path / "narrow.png").dtype == np.uint8
