"""suggest_keyframes on real bags: where the keyframes go, the files written, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from warp_refine_ros.bags.reader import BagReader
from warp_refine_ros.bags.writer import ImageBagWriter
from warp_refine_ros.cli import suggest_keyframes
from warp_refine_ros.synth import DriveConfig, render_drive

TOPIC, CAMERA = "/cam/image_raw", "cam_image_raw"
START, PERIOD = 1_700_000_000_000_000_000, 100_000_000


def frames(seed: int, count: int) -> list[np.ndarray]:
    return [f.image for f in render_drive(DriveConfig(width=96, height=72, frames=count, seed=seed)).frames]


def write_stream(path: Path, images: list[np.ndarray], start: int = START) -> list[int]:
    """One camera's images as an mcap bag at 10 Hz; returns their stamps."""
    stamps = [start + i * PERIOD for i in range(len(images))]
    with ImageBagWriter(path) as writer:
        for stamp, image in zip(stamps, images, strict=True):
            writer.write(TOPIC, stamp, image)
    return stamps


def suggest(capsys, *args) -> tuple[int, str]:
    status = suggest_keyframes.main([*map(str, args), "--no-progress"])
    return status, capsys.readouterr().err


def suggested(out: Path) -> list[int]:
    return [int(line) for line in (out / "keyframes.txt").read_text().splitlines()]


def unreached(count: int, keyframes: list[int], radius: int) -> list[int]:
    return [f for f in range(count) if min(abs(f - k) for k in keyframes) > radius]


def test_files_name_the_stamps_hold_the_decoded_images_and_every_frame_is_reached(
    tmp_path, tiny_drive, capsys
):
    bag = tiny_drive.write_bag(tmp_path, cameras=((TOPIC, "rgb8"), ("/cam2/image_raw", "jpeg")))
    out = tmp_path / "suggested"
    status = suggest_keyframes.main(  # progress left on: a log that is not a terminal gets no bar
        [
            str(bag),
            "--image-topic",
            TOPIC,
            "--image-topic",
            "/cam2/image_raw",
            "-n",
            "8",
            "-K",
            "3",
            "--out",
            str(out),
        ]
    )
    assert status == 0 and capsys.readouterr().err == ""
    stamps = suggested(out)
    assert stamps == sorted(stamps) and len(set(stamps)) == 8
    record = json.loads((out / "suggestions.json").read_text())
    with BagReader(bag) as reader:
        decoded = {(m.topic, m.stamp_ns): m.decode() for m in reader.images([TOPIC, "/cam2/image_raw"])}
    written = sorted(out.glob("images/*/*.png"))
    assert sorted(int(p.stem) for p in written) == stamps
    assert {k["image"] for k in record["keyframes"]} == {str(p.relative_to(out)) for p in written}
    for entry in record["keyframes"]:
        image = cv2.cvtColor(cv2.imread(str(out / entry["image"]), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
        assert np.array_equal(image, decoded[(entry["topic"], entry["stamp_ns"])])
    for topic in (TOPIC, "/cam2/image_raw"):  # 26 frames need 4 keyframes a camera at K = 3
        own = sorted(s for (t, s) in decoded if t == topic)
        positions = [own.index(k["stamp_ns"]) for k in record["keyframes"] if k["topic"] == topic]
        assert len(positions) == 4 and unreached(len(own), positions, 3) == []
    sheet = cv2.imread(str(out / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[1] > 1000


def test_keyframes_stay_on_their_side_of_a_scene_cut(tmp_path, capsys):
    # 13 frames of one street, then 27 of another: 2 + 3 keyframes reach every frame from its own side
    images = frames(3, 13) + frames(11, 27)
    stamps = write_stream(tmp_path / "cut", images)
    status, err = suggest(
        capsys, tmp_path / "cut", "--image-topic", TOPIC, "-n", 5, "-K", 4, "--out", tmp_path / "o"
    )
    assert status == 0, err
    keys = [stamps.index(s) for s in suggested(tmp_path / "o")]
    for side in (range(0, 13), range(13, 40)):
        own = [k for k in keys if k in side]
        assert all(min(abs(f - k) for k in own) <= 4 for f in side), (keys, side)


def test_a_stop_gets_fewer_keyframes_than_the_moving_frames_around_it(tmp_path, capsys):
    drive = frames(5, 40)
    images = drive[:20] + [drive[19]] * 30 + drive[20:]  # stands still on frames 19..49
    stamps = write_stream(tmp_path / "stop", images)
    status, err = suggest(
        capsys, tmp_path / "stop", "--image-topic", TOPIC, "-n", 8, "-K", 5, "--out", tmp_path / "o"
    )
    assert status == 0, err
    keys = [stamps.index(s) for s in suggested(tmp_path / "o")]
    assert unreached(70, keys, 5) == []  # 7 keyframes reach all 70 frames; the eighth is spare
    standing = [k for k in keys if 19 <= k <= 49]
    assert len(standing) <= 3, keys  # 31 standing frames, 40 moving ones; evenly spaced puts 4 there
    assert len(keys) - len(standing) >= 5


def test_labeled_keyframes_are_kept_and_suggestions_fill_around_them(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    stamps = [f.stamp_ns for f in tiny_drive.frames]
    labels = tmp_path / "labels"
    labels.mkdir()
    for index in (0, 8):
        cv2.imwrite(str(labels / f"{stamps[index]}.png"), tiny_drive.frames[index].labels)
    cv2.imwrite(str(labels / f"{stamps[5] + 1}.png"), tiny_drive.frames[5].labels)  # on no image
    cv2.imwrite(str(labels / f"{stamps[0] - 10**12}.png"), tiny_drive.frames[5].labels)  # another drive's
    args = [
        bag,
        "--image-topic",
        "/cam/image_raw",
        "--labels",
        labels,
        "-n",
        2,
        "-K",
        3,
        "--out",
        tmp_path / "o",
    ]
    status, err = suggest(capsys, *args)
    assert status == 0, err
    # 0 and 8 reach frames 0..11; the only two that reach 12..25 are 15 and 22
    assert suggested(tmp_path / "o") == [stamps[15], stamps[22]]
    assert f"{labels / f'{stamps[5] + 1}.png'} matches no image of /cam/image_raw" in err
    assert str(stamps[0] - 10**12) not in err
    assert json.loads((tmp_path / "o" / "suggestions.json").read_text())["streams"][0]["labeled"] == 2


def test_the_count_is_spread_over_bags_where_motion_needs_it(tmp_path, capsys):
    moving = frames(6, 12)
    write_stream(tmp_path / "standing", [moving[0]] * 12)
    write_stream(tmp_path / "moving", moving, start=START + 10 * 10**9)
    args = [tmp_path / "standing", tmp_path / "moving", "--image-topic", TOPIC, "-n", 3, "-K", 6]
    status, err = suggest(capsys, *args, "--out", tmp_path / "o")
    assert status == 0, err
    streams = json.loads((tmp_path / "o" / "suggestions.json").read_text())["streams"]
    assert {s["bag"]: s["suggested"] for s in streams} == {"standing": 1, "moving": 2}


def test_a_change_of_resolution_splits_the_stream_as_bag_label_does(tmp_path, capsys):
    images = frames(3, 10) + [cv2.resize(image, (64, 48)) for image in frames(4, 10)]
    stamps = write_stream(tmp_path / "sizes", images)
    status, err = suggest(
        capsys, tmp_path / "sizes", "--image-topic", TOPIC, "-n", 2, "--out", tmp_path / "o"
    )
    assert status == 0, err
    streams = json.loads((tmp_path / "o" / "suggestions.json").read_text())["streams"]
    assert [(s["first_stamp_ns"], s["frames"], s["suggested"]) for s in streams] == [
        (stamps[0], 10, 1),
        (stamps[10], 10, 1),
    ]


def test_a_rerun_replaces_its_own_files_and_nothing_else(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    out = tmp_path / "o"
    assert suggest(capsys, bag, "--image-topic", TOPIC, "-n", 5, "-K", 3, "--out", out)[0] == 0
    (out / "notes.txt").write_text("mine")
    assert suggest(capsys, bag, "--image-topic", TOPIC, "-n", 2, "-K", 3, "--out", out)[0] == 0
    assert sorted(int(p.stem) for p in out.glob("images/*/*.png")) == suggested(out)
    assert len(suggested(out)) == 2 and (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ["--image-topic", "/front"],
            "no image topic '/front'; the bag has:\n  /cam/image_raw (sensor_msgs/msg/Image",
        ),
        (["-n", "0"], "--count must be 1 or more keyframes, got 0"),
        (["-n", "27"], "--count 27 is more than the 26 frames not labeled yet"),
        (["-K", "0"], "--radius must be 1 or more frames"),
        (["--labels", "missing"], "keyframe label directory"),
    ],
)
def test_bad_arguments_get_one_error_line_and_write_nothing(tmp_path, tiny_drive, capsys, change, message):
    bag = tiny_drive.write_bag(tmp_path)
    args = {"--image-topic": TOPIC, "-n": "3", "-K": "3", "--out": str(tmp_path / "o")}
    args.update({change[0]: str(tmp_path / change[1]) if change[0] == "--labels" else change[1]})
    status, err = suggest(capsys, bag, *[part for pair in args.items() for part in pair])
    assert status == 2 and err.startswith("error: ") and message in err
    assert not (tmp_path / "o").exists()


def test_outputs_never_overwrite_what_the_tool_did_not_write(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keyframes.txt").write_text("someone else's")
    status, err = suggest(capsys, bag, "--image-topic", TOPIC, "-n", 3, "--out", tmp_path / "busy")
    assert status == 2 and "is not empty and holds no suggestions.json" in err
    assert (tmp_path / "busy" / "keyframes.txt").read_text() == "someone else's"
    (tmp_path / "victim.txt").write_text("keep")
    (tmp_path / "forged").mkdir()
    (tmp_path / "forged" / "suggestions.json").write_text(json.dumps({"files": ["../victim.txt"]}))
    status, err = suggest(capsys, bag, "--image-topic", TOPIC, "-n", 3, "--out", tmp_path / "forged")
    assert status == 2 and "lists files suggest_keyframes does not write: ['../victim.txt']" in err
    assert (tmp_path / "victim.txt").read_text() == "keep"
    status, err = suggest(capsys, bag, "--image-topic", TOPIC, "-n", 3, "--out", bag / "inside")
    assert status == 2 and "overlaps the input bag" in err
    status, err = suggest(capsys, tmp_path / "nope", "--image-topic", TOPIC, "-n", 3, "--out", tmp_path / "o")
    assert status == 2 and f"bag {tmp_path / 'nope'} does not exist" in err
