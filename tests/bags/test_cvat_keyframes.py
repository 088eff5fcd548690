"""Keyframes as a CVAT "Segmentation mask 1.1" export, on exports Datumaro wrote (tests/fixtures/cvat)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from warp_refine_ros.bags.cvat import MaskDecoder, labelmap_of, read_labelmap
from warp_refine_ros.bags.keyframes import keyframes_from_directory
from warp_refine_ros.cli import bag_label
from warp_refine_ros.errors import DatasetError, LabelError
from warp_refine_ros.labels import LabelSpec, read_label_png
from warp_refine_ros.training.sources import KeyframeSource, extract_keyframes, match_source

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cvat"
IDS = FIXTURES / "ids"
TOPIC = "/cam/image_raw"


def export_copy(tmp_path: Path, name: str = "task") -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def label(capsys, bag, labels, out, *topics: str, classes: Path | None = None) -> tuple[int, str]:
    args = [str(bag), "--labels", str(labels), "--out", str(out), "--method", "motion-only", "--radius", "3"]
    for topic in topics or (TOPIC,):
        args += ["--image-topic", topic]
    args += ["--classes", str(classes)] if classes else []
    status = bag_label.main([*args, "--no-progress"])
    return status, capsys.readouterr().err


def dataset_files(out: Path) -> dict[str, bytes]:
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.png"))}
    return files | {"manifest.jsonl": (out / "manifest.jsonl").read_bytes()}


@pytest.mark.parametrize("export", ["task", "spec"])
def test_an_export_gives_the_ids_it_stands_for_byte_for_byte(tmp_path, spec, export):
    keyframes = keyframes_from_directory(FIXTURES / export, ["cam"], spec)["cam"]
    assert keyframes.stamps == sorted(int(p.stem) for p in IDS.glob("*.png"))
    for stamp in keyframes.stamps:
        ids = read_label_png(IDS / f"{stamp}.png")
        decoded = keyframes.load(stamp)
        assert decoded.dtype == np.uint8 and decoded.tobytes() == ids.tobytes()
        keyframes.save(stamp, tmp_path / "saved.png")  # what adapt_labeler stages: an id PNG
        assert read_label_png(tmp_path / "saved.png").tobytes() == ids.tobytes()
    assert (read_label_png(IDS / "1700000000800000000.png") == spec.ignore_id).sum() == 200  # unlabeled


def test_bag_label_writes_the_same_dataset_from_the_export_as_from_the_id_pngs(tmp_path, tiny_drive, capsys):
    bag = tiny_drive.write_bag(tmp_path)
    assert label(capsys, bag, IDS, tmp_path / "from_ids")[0] == 0
    assert label(capsys, bag, FIXTURES / "task", tmp_path / "from_cvat")[0] == 0
    assert dataset_files(tmp_path / "from_ids") == dataset_files(tmp_path / "from_cvat")
    # keyframes are known by their labels, not their files: switching to the export relabels nothing
    _, _ = label(capsys, bag, FIXTURES / "task", tmp_path / "from_ids")
    assert dataset_files(tmp_path / "from_ids") == dataset_files(tmp_path / "from_cvat")


def test_one_sub_export_per_camera(tmp_path, tiny_drive, capsys):
    """Camera 1 sees the drive mirrored, stamped 1 us later: its export is the fixture flipped."""
    topics = ("/front/image_raw", "/rear/image_raw")
    bag = tiny_drive.write_bag(tmp_path, cameras=[(topics[0], "rgb8"), (topics[1], "rgb8")])
    ids, cvat = tmp_path / "ids", tmp_path / "cvat"
    for camera, flip in (("front_image_raw", False), ("rear_image_raw", True)):
        shutil.copytree(FIXTURES / "task", cvat / camera, ignore=shutil.ignore_patterns("SegmentationClass"))
        for folder, source in (
            (ids / camera, IDS),
            (cvat / camera / "SegmentationClass", FIXTURES / "task" / "SegmentationClass"),
        ):
            folder.mkdir(parents=True)
            for path in source.glob("*.png"):
                pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
                stamp = int(path.stem) + (1000 if flip else 0)
                cv2.imwrite(str(folder / f"{stamp}.png"), pixels[:, ::-1] if flip else pixels)
    assert label(capsys, bag, ids, tmp_path / "from_ids", *topics)[0] == 0
    assert label(capsys, bag, cvat, tmp_path / "from_cvat", *topics)[0] == 0
    assert dataset_files(tmp_path / "from_ids") == dataset_files(tmp_path / "from_cvat")


def test_training_reads_the_export_as_it_reads_the_id_pngs(tmp_path, tiny_drive, spec):
    bag = tiny_drive.write_bag(tmp_path)
    pairs = {}
    for name, folder in (("ids", IDS), ("cvat", FIXTURES / "task")):
        stream = match_source(KeyframeSource(bag, TOPIC, folder), spec)
        items = extract_keyframes(stream, tmp_path / name, spec)
        pairs[name] = {item.image.stem: read_label_png(item.label).tobytes() for item in items}
    assert pairs["ids"] == pairs["cvat"] and len(pairs["ids"]) == 4


def test_background_is_the_specs_class_of_that_name(tmp_path, spec):
    classes = [*spec.to_dict()["classes"], {"id": 19, "name": "Background", "color": [0, 0, 0]}]
    with_background = LabelSpec.from_dict({"classes": classes})
    keyframes = keyframes_from_directory(FIXTURES / "task", ["cam"], with_background)["cam"]
    ids = read_label_png(IDS / "1700000000800000000.png")
    decoded = keyframes.load(1700000000800000000)
    assert (decoded[ids == 255] == 19).all() and np.array_equal(decoded[ids != 255], ids[ids != 255])


def test_a_colour_the_labelmap_lacks_is_named_with_its_pixels(tmp_path, tiny_drive, capsys):
    export = export_copy(tmp_path)
    mask = export / "SegmentationClass" / "1700000001600000000.png"
    pixels = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
    pixels[30:33, 40:45] = (3, 2, 1)  # BGR: RGB (1, 2, 3)
    cv2.imwrite(str(mask), pixels)
    status, err = label(capsys, tiny_drive.write_bag(tmp_path), export, tmp_path / "out")
    assert status == 2 and err.startswith("error: ")
    assert f"{mask}: colour (1, 2, 3) on 15 pixel(s) (first at x=40, y=30) is no label of" in err
    assert not (tmp_path / "out").exists()


def test_a_label_the_class_spec_lacks_is_named(tmp_path, tiny_drive, capsys):
    export = export_copy(tmp_path)
    labelmap = export / "labelmap.txt"
    labelmap.write_text(labelmap.read_text().replace("Road:", "street:"))
    status, err = label(capsys, tiny_drive.write_bag(tmp_path), export, tmp_path / "out")
    assert status == 2 and f"error: {labelmap}: label(s) 'street' are no class of the class spec" in err


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("truck:1,2,3:", r"labelmap.txt:3: 'truck:1,2,3:' is not 'name:r,g,b:parts:actions'"),
        ("truck:1,2:x:", r"labelmap.txt:3: colour '1,2' is not r,g,b"),
        ("car:1,2,300::", r"colour '1,2,300' is not r,g,b with each value in 0..255"),
        ("bus:0,0,142::", r"labels 'car' and 'bus' share the colour \(0, 0, 142\)"),
        ("car:9,9,9::", r"label 'car' is listed twice"),
    ],
)
def test_labelmap_lines_that_cannot_work_are_named(tmp_path, spec, line, message):
    (tmp_path / "labelmap.txt").write_text(f"# label:color_rgb:parts:actions\ncar:0,0,142::\n{line}\n")
    with pytest.raises(LabelError, match=message):
        MaskDecoder(tmp_path / "labelmap.txt", spec)


def test_masks_without_their_labelmap_are_refused(tmp_path, spec):
    export = export_copy(tmp_path)
    (export / "labelmap.txt").unlink()
    with pytest.raises(
        DatasetError, match=r"SegmentationClass holds CVAT masks but .*labelmap.txt is missing"
    ):
        keyframes_from_directory(export, ["cam"], spec)


def test_id_pngs_and_an_export_in_one_folder_add_up(tmp_path, spec):
    """A corrected export unpacked into the keyframe folder adds its frames; a stamp in both is refused."""
    folder = export_copy(tmp_path)
    cv2.imwrite(str(folder / "1700000000400000000.png"), np.zeros((72, 96), np.uint8))
    keyframes = keyframes_from_directory(folder, ["cam"], spec)["cam"]
    assert len(keyframes) == 5 and keyframes.load(1700000000400000000).max() == 0
    shutil.copy(IDS / "1700000000000000000.png", folder)
    with pytest.raises(DatasetError, match="both name keyframe stamp 1700000000000000000"):
        keyframes_from_directory(folder, ["cam"], spec)


def test_masks_in_sub_folders_are_read(tmp_path, spec):
    """CVAT names items by the image's path in the task: an upload of folder/ gives folder/<stamp>.png."""
    export = export_copy(tmp_path)
    nested = export / "SegmentationClass" / "images"
    nested.mkdir()
    for path in sorted((export / "SegmentationClass").glob("*.png"))[:2]:
        path.rename(nested / path.name)
    keyframes = keyframes_from_directory(export, ["cam"], spec)["cam"]
    assert keyframes.stamps == sorted(int(p.stem) for p in IDS.glob("*.png"))
    stamp = keyframes.stamps[0]
    assert keyframes.load(stamp).tobytes() == read_label_png(IDS / f"{stamp}.png").tobytes()


def test_one_channel_masks_hold_labelmap_positions(tmp_path, spec):
    entries = read_labelmap(FIXTURES / "task" / "labelmap.txt")
    positions = np.array([[0, 2], [len(entries) - 1, 1]], np.uint8)  # Road, background, wall, Traffic-Sign
    cv2.imwrite(str(tmp_path / "mask.png"), positions)
    decoder = MaskDecoder(FIXTURES / "task" / "labelmap.txt", spec)
    assert decoder.decode(tmp_path / "mask.png").tolist() == [[0, 255], [3, 7]]
    cv2.imwrite(str(tmp_path / "mask.png"), np.full((2, 2), len(entries), np.uint8))
    with pytest.raises(LabelError, match=r"value 20 on 4 pixel\(s\) \(first at x=0, y=0\) is no label"):
        decoder.decode(tmp_path / "mask.png")


def test_the_labelmap_written_for_a_spec_is_the_one_cvat_writes(spec):
    assert labelmap_of(spec) == read_labelmap(FIXTURES / "spec" / "labelmap.txt")
