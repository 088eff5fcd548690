"""Running the real label_node for the ROS 2 tests: a small synthetic drive, bag_label's files for it,
and one run of the node per scenario (node_ros/scenario.py inside a loopback-only network namespace)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from warp_refine_ros.bags.keyframes import camera_name
from warp_refine_ros.node.isolation import environment, isolated

TOPIC = "/camera/image_raw"
RADIUS = 5
SCENARIO = Path(__file__).parent / "node_ros" / "scenario.py"


def command(name: str) -> str:
    """An installed command of this environment (the ROS venv's, under `make test`)."""
    return str(Path(sys.executable).with_name(name))


def without_workspace() -> dict[str, str]:
    """This environment without AMENT_PREFIX_PATH, as after `pip install` of the ROS 2 wheels."""
    return {name: value for name, value in os.environ.items() if name != "AMENT_PREFIX_PATH"}


@dataclass(frozen=True)
class Drive:
    """A synthetic drive's bag and keyframe folder, and bag_label's labels and confidence for it."""

    bag: Path
    keyframes: Path
    labels: Path
    confidence: Path

    def expected(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """bag_label's (labels, confidence) by stamp."""
        return {
            int(path.stem): (cv2.imread(str(path), cv2.IMREAD_UNCHANGED), _read(self.confidence / path.name))
            for path in sorted(self.labels.glob("*.png"))
        }


def _read(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def make_drive(folder: Path, *extra: str) -> Drive:
    """synth_drive and bag_label as a user runs them, with no ROS workspace sourced."""
    env = without_workspace()
    run = {"check": True, "env": env, "capture_output": True, "timeout": 300}
    subprocess.run(
        [
            command("synth_drive"),
            str(folder / "drive"),
            "--frames",
            "40",
            "--width",
            "160",
            "--height",
            "120",
            "--keyframe-every",
            "10",
            "--no-progress",
            *extra,
        ],
        **run,
    )
    source = folder / "drive"
    subprocess.run(
        [
            command("bag_label"),
            str(source / "drive"),
            "--image-topic",
            TOPIC,
            "--labels",
            str(source / "keyframes"),
            "--out",
            str(folder / "reference"),
            "--radius",
            str(RADIUS),
            "--no-progress",
        ],
        **run,
    )
    camera = camera_name(TOPIC)
    return Drive(
        source / "drive",
        source / "keyframes",
        folder / "reference" / "labels" / camera,
        folder / "reference" / "confidence" / camera,
    )


@dataclass(frozen=True)
class Run:
    """What one isolated run of the node sent back."""

    out: Path
    record: dict

    def labels(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """The last (labels, confidence) the node published per stamp."""
        return {
            int(path.stem): (_read(path), _read(self.out / "confidence" / path.name))
            for path in sorted((self.out / "labels").glob("*.png"))
        }


def run_scenario(out: Path, drive: Drive, order: str, steps: tuple[str, ...] = (), **options: object) -> Run:
    """label_node fed ``drive`` with keyframes placed by ``order``, in a network namespace of its own."""
    out.mkdir(parents=True, exist_ok=True)
    parameters = {"radius": RADIUS, **options.pop("parameters", {})}  # type: ignore[dict-item]
    config = {
        "bag": str(drive.bag),
        "topic": TOPIC,
        "keyframes": str(drive.keyframes),
        "order": order,
        "rate_hz": 10.0,
        "parameters": parameters,
        "steps": list(steps),
        "out": str(out),
        **options,
    }
    (out / "config.json").write_text(json.dumps(config), encoding="utf-8")
    done = subprocess.run(
        isolated([sys.executable, str(SCENARIO), str(out / "config.json")]),
        env=environment(without_workspace()),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"scenario failed:\n{done.stdout}\n{done.stderr}"
    return Run(out, json.loads((out / "record.json").read_text(encoding="utf-8")))


def assert_same_labels(run: Run, drive: Drive) -> None:
    """Every frame bag_label labels was published, and its last labels and confidence equal the files."""
    got, expected = run.labels(), drive.expected()
    assert sorted(got) == sorted(expected), f"frames missing: {sorted(set(expected) - set(got))}"
    for stamp, (labels, confidence) in expected.items():
        np.testing.assert_array_equal(got[stamp][0], labels, err_msg=f"labels at {stamp}")
        np.testing.assert_array_equal(got[stamp][1], confidence, err_msg=f"confidence at {stamp}")
