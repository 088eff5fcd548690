"""Datasets a team shares: bags whose stamps overlap, one bag given twice, file modes, the libraries the
labels depend on, compressed camera names, and datasets written by the previous release."""

from __future__ import annotations

import json
import os
import shutil
import stat

import cv2
import numpy as np
import pytest

from warp_refine_ros.bags import record as run_record
from warp_refine_ros.bags.dataset import read_manifest
from warp_refine_ros.cli import bag_label
from warp_refine_ros.fileio import atomic_write, write_json

TOPIC = "/cam/image_raw"


def run(capsys, bags, kf, out, *extra, topic=TOPIC):
    args = [*map(str, bags), "--image-topic", topic, "--labels", str(kf), "--out", str(out)]
    status = bag_label.main(
        [*args, "--method", "motion-only", "--radius", "3", "--no-progress", *map(str, extra)]
    )
    captured = capsys.readouterr()
    return status, captured.err, captured.out


@pytest.fixture
def two_drives(tmp_path, tiny_drive):
    """Two simulator runs that both start at t = 0: the same stamps, different pictures."""
    a = tiny_drive.write_bag(tmp_path, name="run_a")
    b = tiny_drive.write_bag(tmp_path, name="run_b", cameras=[(TOPIC, "bgr8")], mirrored=True)
    return a, b, tiny_drive.write_keyframes(tmp_path / "kf")


def test_bags_with_the_same_stamps_never_share_a_file(tmp_path, tiny_drive, two_drives, capsys):
    a, b, kf = two_drives
    out = tmp_path / "out"
    status, err, _ = run(capsys, [a, b], kf, out, "--split", "0.5")
    assert status == 0, err
    records = read_manifest(out / "manifest.jsonl")
    paths = [path for r in records for path in (r.image, r.label, r.confidence)]
    assert len(records) == 2 * 23 and len(set(paths)) == len(paths)
    assert len(list((out / "labels").rglob("*.png"))) == 2 * 23
    # the common case keeps images/<camera>/<stamp>.png; the bag that overlaps it goes one level deeper
    first = {r.bag: r for r in records if r.stamp_ns == tiny_drive.frames[0].stamp_ns}
    assert first["run_a"].image == f"images/cam_image_raw/{tiny_drive.frames[0].stamp_ns}.png"
    assert first["run_b"].image == f"images/cam_image_raw/run_b/{tiny_drive.frames[0].stamp_ns}.png"
    pictures = [cv2.imread(str(out / first[bag].image))[..., ::-1] for bag in ("run_a", "run_b")]
    assert np.array_equal(pictures[0], tiny_drive.frames[0].image)
    assert np.array_equal(pictures[1], tiny_drive.frames[0].image[:, ::-1])
    train, val = ((out / f"{side}.txt").read_text().split() for side in ("train", "val"))
    assert len(train) == len(val) == 2 * 23 and not set(train) & set(val)
    status, _, printed = run(capsys, [b, a], kf, out, "--split", "0.5")  # a rerun, bags in another order
    assert status == 0 and "46 already done" in printed
    assert sorted(map(str, read_manifest(out / "manifest.jsonl"))) == sorted(map(str, records))


def test_one_bag_given_twice_is_refused(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    storage = next(bag.glob("*.mcap"))
    for twice in ([bag, storage], [bag, bag]):
        status, err, _ = run(capsys, twice, kf, tmp_path / "out")
        assert status == 2 and "are the same recording" in err and not (tmp_path / "out").exists()
    assert run(capsys, [bag], kf, tmp_path / "out")[0] == 0
    status, err, _ = run(capsys, [storage], kf, tmp_path / "out")  # the same drive by its file, later
    assert status == 2 and f"is the recording {tmp_path / 'out'} already holds as bag drive" in err


def test_split_with_one_bag_is_refused_before_labeling(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    status, err, _ = run(capsys, [bag], kf, tmp_path / "out", "--split", "0.2")
    assert status == 2 and "needs at least two bags" in err and not (tmp_path / "out").exists()
    cut = tmp_path / "cut.mcap"  # a second bag that turns out unreadable: the first is labeled, no split
    cut.write_bytes(next(bag.glob("*.mcap")).read_bytes()[:5000])
    status, err, _ = run(capsys, [bag, cut], kf, tmp_path / "out", "--split", "0.2")
    assert (
        status == 1 and f"error: {cut}: cannot open" in err and "train.txt and val.txt are not written" in err
    )
    assert (
        len(read_manifest(tmp_path / "out" / "manifest.jsonl")) == 23
        and not (tmp_path / "out/val.txt").exists()
    )


def umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@pytest.mark.parametrize("mask", [0o022, 0o077], ids=["umask022", "umask077"])
def test_files_get_the_mode_the_umask_gives(tmp_path, tiny_drive, capsys, mask):
    bag = tiny_drive.write_bag(tmp_path)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    before = os.umask(mask)
    try:
        out = tmp_path / "out"
        assert run(capsys, [bag], kf, out, "--color", "--out-bag", out / "review")[0] == 0
        write_json(tmp_path / "engines" / "report.json", {})
        atomic_write(tmp_path / "engines" / "engines.yaml", b"motion: dis\n")
        expected = umask_mode()
    finally:
        os.umask(before)
    files = [p for p in (*out.rglob("*"), *(tmp_path / "engines").iterdir()) if p.is_file()]
    assert {"dataset.json", "run.json", "classes.yaml", "manifest.jsonl", "engines.yaml"} <= {
        p.name for p in files
    }
    assert {str(p.relative_to(tmp_path)): stat.S_IMODE(p.stat().st_mode) for p in files} == {
        str(p.relative_to(tmp_path)): expected for p in files
    }


def test_the_libraries_the_labels_depend_on_are_checked_on_a_rerun(tmp_path, tiny_drive, capsys, monkeypatch):
    bag = tiny_drive.write_bag(tmp_path)
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    assert run(capsys, [bag], kf, tmp_path / "out")[0] == 0
    libraries = json.loads((tmp_path / "out" / "dataset.json").read_text())["settings"]["libraries"]
    opencv = run_record.library_version("cv2")
    assert opencv.items() <= libraries.items() and "numpy" in libraries
    name, version = next(iter(opencv.items()))
    real = run_record.library_version
    monkeypatch.setattr(
        run_record, "library_version", lambda module: {name: "99.0.0"} if module == "cv2" else real(module)
    )
    status, err, _ = run(capsys, [bag], kf, tmp_path / "out")
    assert status == 2 and f"{name}: {version} -> 99.0.0" in err and f"pip install {name}=={version}" in err


def as_version_1(out, rename=None):
    """Rewrite a dataset as the previous release wrote it: dataset.json version 1 (no stamp, libraries,
    stream folders, spans or recordings) and, with ``rename``, its camera folders named the old way."""
    record = json.loads((out / "dataset.json").read_text())
    record["version"] = 1
    for key in ("stamp", "libraries"):
        del record["settings"][key]
    record["streams"] = {
        key: {"bag_bytes": s["bag_bytes"], "keyframes": s["keyframes"]}
        for key, s in record["streams"].items()
    }
    (out / "dataset.json").write_text(json.dumps(record))
    if rename:
        old, new = rename
        for kind in ("images", "labels", "confidence"):
            (out / kind / old).rename(out / kind / new)
        text = (
            (out / "manifest.jsonl")
            .read_text()
            .replace(f"/{old}/", f"/{new}/")
            .replace(f'"{old}"', f'"{new}"')
        )
        (out / "manifest.jsonl").write_text(text)


def test_compressed_topics_name_the_camera_and_old_datasets_go_on(tmp_path, tiny_drive, capsys):
    topic = f"{TOPIC}/compressed"
    bag = tiny_drive.write_bag(tmp_path, cameras=[(topic, "jpeg")])
    kf = tiny_drive.write_keyframes(tmp_path / "kf")
    fewer = tmp_path / "fewer"
    shutil.copytree(kf, fewer)
    (fewer / f"{tiny_drive.frames[8].stamp_ns}.png").unlink()
    out = tmp_path / "out"
    assert run(capsys, [bag], fewer, out, topic=topic)[0] == 0
    assert {r.camera for r in read_manifest(out / "manifest.jsonl")} == {"cam_image_raw"}
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["cam_image_raw"]
    as_version_1(out, rename=("cam_image_raw", "cam_image_raw_compressed"))  # a dataset of the last release
    status, err, _ = run(capsys, [bag], kf, out, topic=topic)  # a keyframe added: its frames are labeled
    assert status == 0, err
    records = read_manifest(out / "manifest.jsonl")
    assert len(records) == 23 and {r.label.split("/")[1] for r in records} == {"cam_image_raw_compressed"}
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["cam_image_raw_compressed"]
    assert json.loads((out / "dataset.json").read_text())["version"] == 2


def test_an_old_dataset_whose_bags_overwrote_each_other_is_refused(tmp_path, two_drives, capsys):
    a, b, kf = two_drives
    out = tmp_path / "out"
    assert run(capsys, [a, b], kf, out)[0] == 0
    as_version_1(out)
    manifest = (out / "manifest.jsonl").read_text().replace("/cam_image_raw/run_b/", "/cam_image_raw/")
    (out / "manifest.jsonl").write_text(manifest)  # as the last release listed them: the same files
    status, err, _ = run(capsys, [a, b], kf, out)
    assert (
        status == 2 and "wrote frames of different bags (run_a, run_b) to the same files (23 of them" in err
    )
