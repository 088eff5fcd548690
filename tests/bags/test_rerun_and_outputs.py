"""Output safety and reruns: nothing the tool did not write is touched, and a dataset is one run's labels."""

from __future__ import annotations

import errno
import shutil

import cv2
import numpy as np
import pytest
import yaml

from warp_refine_ros import fileio
from warp_refine_ros.bags.dataset import read_manifest
from warp_refine_ros.cli import bag_label
from warp_refine_ros.labels import LabelSpec

TOPIC = "/cam/image_raw"


def run(capsys, bag, kf, out, *extra, method="motion-only", radius=3):
    args = [bag, "--image-topic", TOPIC, "--labels", kf, "--out", out, "--method", method, "--radius", radius]
    status = bag_label.main([*map(str, args), *map(str, extra), "--no-progress"])
    captured = capsys.readouterr()
    return status, captured.err, captured.out


def frame_files(out):
    """Every file of the dataset's frame folders, relative path -> bytes."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for folder in ("images", "labels", "confidence", "color")
        for p in sorted((out / folder).rglob("*"))
        if p.is_file()
    }


def assert_same_dataset(a, b):
    """File by file: the same frames listed with the same records, and the same frame files."""
    key = lambda r: (r.bag, r.topic, r.stamp_ns)  # noqa: E731
    assert sorted(read_manifest(a / "manifest.jsonl"), key=key) == sorted(
        read_manifest(b / "manifest.jsonl"), key=key
    )
    assert frame_files(a) == frame_files(b)


@pytest.fixture
def drive(tmp_path, tiny_drive):
    return tiny_drive.write_bag(tmp_path), tiny_drive.write_keyframes(tmp_path / "kf")


def test_a_folder_of_the_users_files_is_refused_and_left_alone(tmp_path, drive, capsys):
    bag, kf = drive
    out = tmp_path / "mine"
    (out / "images").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    (out / "images" / ".draft.abcdefgh.tmp").write_text("mine too")
    status, err, _ = run(capsys, bag, kf, out)
    assert status == 2 and f"--out {out} is not empty and holds no dataset.json" in err
    assert sorted(p.name for p in out.rglob("*")) == [".draft.abcdefgh.tmp", "images", "notes.txt"]


def test_out_that_is_a_file_is_refused(tmp_path, drive, capsys):
    bag, kf = drive
    (tmp_path / "file").write_text("x")
    status, err, _ = run(capsys, bag, kf, tmp_path / "file")
    assert status == 2 and "is a file" in err and (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize("target", ["out", "bag", "users", "labels"])
def test_out_bag_never_replaces_what_the_tool_did_not_write(tmp_path, drive, capsys, target):
    bag, kf = drive
    users = tmp_path / "users"
    users.mkdir()
    (users / "keep.txt").write_text("mine")
    out = tmp_path / "out"
    review = {"out": out, "bag": bag, "users": users, "labels": kf}[target]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    status, err, _ = run(capsys, bag, kf, out, "--out-bag", review)
    assert status == 2 and "--out-bag" in err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_out_bag_inside_out_and_its_own_review_bag_is_replaced_on_a_rerun(tmp_path, drive, capsys):
    bag, kf = drive
    out = tmp_path / "out"
    assert run(capsys, bag, kf, out, "--out-bag", out / "review")[0] == 0
    assert run(capsys, bag, kf, out, "--out-bag", out / "review")[0] == 0
    assert (out / "review" / "metadata.yaml").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".review")]  # the old bag's folder is gone
    status, err, _ = run(capsys, bag, kf, out, "--out-bag", out / "labels")
    assert status == 2 and "dataset's own files" in err


@pytest.mark.parametrize(
    ("change", "said"), [(["--radius", "4"], "radius: 3 -> 4"), (["--tau", "80"], "tau: 40.0 -> 80.0")]
)
def test_a_rerun_with_other_settings_is_refused_and_changes_nothing(tmp_path, drive, capsys, change, said):
    bag, kf = drive
    out = tmp_path / "out"
    assert run(capsys, bag, kf, out)[0] == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    status, err, _ = run(capsys, bag, kf, out, *change)  # the later flag wins
    assert status == 2 and "was labeled with other settings" in err and said in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def _keyframe_subsets(tiny_drive, kf, tmp_path):
    """The keyframe folder without its second keyframe, and one with another label for it."""
    fewer = tmp_path / "fewer"
    shutil.copytree(kf, fewer)
    second = f"{tiny_drive.frames[8].stamp_ns}.png"
    (fewer / second).unlink()
    edited = tmp_path / "edited"
    shutil.copytree(kf, edited)
    labels = cv2.imread(str(kf / second), cv2.IMREAD_UNCHANGED)
    labels[:20, :30] = 0  # a labeler fixed a corner: road
    cv2.imwrite(str(edited / second), labels)
    return fewer, edited


@pytest.mark.parametrize(("first", "then"), [("fewer", "kf"), ("kf", "fewer"), ("kf", "edited")])
def test_a_rerun_with_changed_keyframes_equals_a_clean_run(tmp_path, tiny_drive, drive, capsys, first, then):
    bag, kf = drive
    folders = dict(zip(("fewer", "edited"), _keyframe_subsets(tiny_drive, kf, tmp_path), strict=True), kf=kf)
    assert run(capsys, bag, folders[first], tmp_path / "rerun", "--color", method="motion-only")[0] == 0
    status, _, out = run(capsys, bag, folders[then], tmp_path / "rerun", "--color")
    assert status == 0 and "keyframes since the last run" in out
    assert run(capsys, bag, folders[then], tmp_path / "clean", "--color")[0] == 0
    assert_same_dataset(tmp_path / "rerun", tmp_path / "clean")


def test_an_added_keyframe_relabels_only_its_window(tmp_path, tiny_drive, drive, capsys):
    bag, kf = drive
    fewer, _ = _keyframe_subsets(tiny_drive, kf, tmp_path)
    out = tmp_path / "out"
    assert run(capsys, bag, fewer, out)[0] == 0
    before = frame_files(out)
    _, _, printed = run(capsys, bag, kf, out)
    # keyframes 0, 16, 24 with radius 3: the new keyframe 8 labels frames 5..11 (7 frames, all new)
    assert "1 added, 0 changed, 0 removed -> 0 frames relabeled, 0 no longer labeled" in printed
    after = frame_files(out)
    assert {k: v for k, v in after.items() if k in before} == before
    assert len(after) - len(before) == 3 * 7


def test_frames_whose_files_vanished_are_labeled_again(tmp_path, drive, capsys):
    bag, kf = drive
    out = tmp_path / "out"
    assert run(capsys, bag, kf, out)[0] == 0
    record = read_manifest(out / "manifest.jsonl")[3]
    (out / record.label).unlink()
    status, _, printed = run(capsys, bag, kf, out)
    assert status == 0 and "wrote 1 frames" in printed and (out / record.label).is_file()


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--tau", "nan", "tau must be a positive RGB distance"),
        ("--tau", "inf", "tau must be a positive RGB distance"),
        ("--stamp-tolerance", "-1", "--stamp-tolerance must be 0 or more"),
        ("--stamp-tolerance", "50", "is half the frame period"),
    ],
)
def test_values_that_cannot_work_are_refused(tmp_path, drive, capsys, flag, value, message):
    bag, kf = drive
    status, err, _ = run(capsys, bag, kf, tmp_path / "out", flag, value)
    assert status == 2 and message in err and not (tmp_path / "out").exists()


def test_uppercase_png_keyframes_are_used(tmp_path, drive, capsys):
    bag, kf = drive
    for path in kf.iterdir():
        path.rename(path.with_suffix(".PNG"))
    assert run(capsys, bag, kf, tmp_path / "out")[0] == 0
    assert sum(r.offset == 0 for r in read_manifest(tmp_path / "out" / "manifest.jsonl")) == 4


def test_keyframe_names_and_formats_are_named(tmp_path, tiny_drive, drive, capsys):
    bag, kf = drive
    (kf / "frame_12.png").write_bytes((kf / f"{tiny_drive.frames[0].stamp_ns}.png").read_bytes())
    status, err, _ = run(capsys, bag, kf, tmp_path / "out")
    assert status == 2 and f"{kf / 'frame_12.png'}: keyframe labels must be named <stamp_ns>.png" in err
    (kf / "frame_12.png").unlink()
    rgba = np.zeros((72, 96, 4), np.uint8)
    cv2.imwrite(str(kf / f"{tiny_drive.frames[8].stamp_ns}.png"), rgba)
    status, err, _ = run(capsys, bag, kf, tmp_path / "out")
    assert status == 2 and "a colour+alpha (RGBA) 8-bit image" in err


def test_a_palette_png_gives_its_indices(tmp_path):
    from PIL import Image

    from warp_refine_ros.labels import read_label_png

    ids = np.arange(72 * 96, dtype=np.uint8).reshape(72, 96) % 19
    image = Image.fromarray(ids, mode="P")
    image.putpalette([v for i in range(256) for v in (i, 255 - i, 7 * i % 256)])
    image.save(tmp_path / "label.png")
    assert np.array_equal(read_label_png(tmp_path / "label.png"), ids)


def test_the_known_ids_are_listed_as_ranges():
    from warp_refine_ros.errors import LabelError
    from warp_refine_ros.labels import LabelSpec

    spec = LabelSpec.from_dict(
        {"classes": [{"id": i, "name": f"c{i}", "color": [0, 0, 0]} for i in [*range(18), 254]]}
    )
    with pytest.raises(LabelError, match=r"known: 0\.\.17, 254; 255 = ignore"):
        spec.validate(np.full((2, 2), 40, np.uint8))


def test_a_full_disk_stops_with_a_message_and_the_rerun_finishes_the_dataset(
    tmp_path, drive, capsys, monkeypatch
):
    bag, kf = drive
    assert run(capsys, bag, kf, tmp_path / "clean")[0] == 0
    replace, calls = fileio.os.replace, []

    def full_disk(source, target):
        calls.append(target)
        if len(calls) > 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        replace(source, target)

    monkeypatch.setattr(fileio.os, "replace", full_disk)
    status, err, _ = run(capsys, bag, kf, tmp_path / "out")
    assert status == 1 and "No space left on device" in err and "rerun the same command" in err  # under way
    assert "Traceback" not in err
    monkeypatch.setattr(fileio.os, "replace", replace)
    assert run(capsys, bag, kf, tmp_path / "out")[0] == 0
    assert_same_dataset(tmp_path / "out", tmp_path / "clean")


def test_an_engine_that_does_not_fit_the_spec_leaves_no_output(tmp_path, drive, capsys, random_engines):
    bag, kf = drive
    spec = tmp_path / "two.yaml"
    spec.write_text(
        "classes:\n- {id: 0, name: road, color: [1, 2, 3]}\n- {id: 1, name: car, color: [4, 5, 6]}\n"
    )
    status, err, _ = run(capsys, bag, kf, tmp_path / "out", "--engines", random_engines, "--classes", spec,
                         method="warp-inpaint")  # fmt: skip
    assert status == 2 and "class spec" in err and not (tmp_path / "out").exists()


def test_a_second_run_into_the_same_dataset_is_refused_while_one_writes(tmp_path, drive, capsys):
    import fcntl

    bag, kf = drive
    out = tmp_path / "out"
    assert run(capsys, bag, kf, out)[0] == 0
    with (out / ".bag_label.lock").open("w") as held:  # as a run in progress holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        status, err, _ = run(capsys, bag, kf, out)
    assert status == 2 and "another run is writing" in err


def test_class_names_are_compared_with_the_engines(tmp_path, drive, capsys, random_engines):
    bag, kf = drive
    indoor = LabelSpec.default().to_dict()
    for entry, name in zip(indoor["classes"][:3], ("floor", "corridor", "ceiling"), strict=False):
        entry["name"] = name  # the same ids, an indoor team's names
    spec = tmp_path / "indoor.yaml"
    spec.write_text(yaml.safe_dump(indoor))
    status, err, _ = run(capsys, bag, kf, tmp_path / "out", "--engines", random_engines, "--classes", spec,
                         method="warp-inpaint")  # fmt: skip
    assert status == 2 and not (tmp_path / "out").exists()
    named = (
        "id 0: 'road' against 'floor'",
        "id 1: 'sidewalk' against 'corridor'",
        "id 2: 'building' against",
    )
    assert "; ".join(named) in err


def test_two_cameras_in_one_namespace_get_review_topics_of_their_own(tmp_path, tiny_drive, capsys):
    from rosbags.highlevel import AnyReader

    cameras = [("/cam_front", "rgb8"), ("/cam_rear", "rgb8")]
    bag = tiny_drive.write_bag(tmp_path, cameras=cameras)
    kf = tmp_path / "kf"
    tiny_drive.write_keyframes(kf / "cam_front", 0)
    tiny_drive.write_keyframes(kf / "cam_rear", 1)
    args = [bag, "--image-topic", "/cam_front", "--image-topic", "/cam_rear", "--labels", kf]
    args += [
        "--out",
        tmp_path / "out",
        "--out-bag",
        tmp_path / "review",
        "--radius",
        "3",
        "--method",
        "motion-only",
    ]
    assert bag_label.main([*map(str, args), "--no-progress"]) == 0
    with AnyReader([tmp_path / "review"]) as reader:
        counts = {topic: info.msgcount for topic, info in reader.topics.items()}
    kinds = ("compressed", "labels/compressed", "labels_color/compressed", "confidence/compressed")
    assert counts == {f"/{camera}/{kind}": 23 for camera in ("cam_front", "cam_rear") for kind in kinds}


def test_a_full_disk_while_writing_the_review_bag_is_one_error(tmp_path, drive, capsys, monkeypatch):
    from warp_refine_ros.bags import writer

    bag, kf = drive
    write, calls = writer.Writer2.write, []

    def full_disk(self, *args):
        calls.append(args)
        if len(calls) > 30:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(self, *args)

    monkeypatch.setattr(writer.Writer2, "write", full_disk)
    status, err, _ = run(capsys, bag, kf, tmp_path / "out", "--out-bag", tmp_path / "review")
    assert status == 1 and "Traceback" not in err and err.count("error:") == 1
    assert "the review bag" in err and "No space left on device" in err and "rerun the same command" in err
    assert len(read_manifest(tmp_path / "out" / "manifest.jsonl")) == 23  # the labels are written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drive", "kf", "out"]  # no partial bag left
    monkeypatch.setattr(writer.Writer2, "write", write)
    assert run(capsys, bag, kf, tmp_path / "out", "--out-bag", tmp_path / "review")[0] == 0
    assert (tmp_path / "review" / "metadata.yaml").is_file()


def test_what_a_killed_review_bag_left_is_cleared_by_the_rerun(tmp_path, drive, capsys):
    bag, kf = drive
    killed = tmp_path / ".review.k1ll3d_x.partial" / "review"  # as the writer stages it
    killed.mkdir(parents=True)
    (killed / "review_0.mcap").write_bytes(b"\x89MCAP0\r\n" + bytes(1000))
    (tmp_path / ".review.notes").write_text("mine")  # not a name the tool gives: left alone
    assert run(capsys, bag, kf, tmp_path / "out", "--out-bag", tmp_path / "review")[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".review.notes", "drive", "kf", "out", "review"]
