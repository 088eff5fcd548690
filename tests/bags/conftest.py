"""Bags written by the tests themselves, in every storage and encoding, from one small synthetic drive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from warp_refine_ros.bags.writer import ImageBagWriter, bag_path
from warp_refine_ros.synth import DriveConfig, SynthFrame, render_drive

KEYFRAME_EVERY = 8


@dataclass(frozen=True)
class TinyDrive:
    frames: list[SynthFrame]

    @property
    def keyframe_indices(self) -> list[int]:
        return list(range(0, len(self.frames), KEYFRAME_EVERY))

    def write_bag(
        self,
        out: Path,
        storage: str = "mcap",
        cameras: Sequence[tuple[str, str]] = (("/cam/image_raw", "rgb8"),),
        label_topics: Sequence[str] = (),
        name: str = "drive",
        mirrored: bool = False,
    ) -> Path:
        """A bag with each camera's frames (topic, encoding or jpeg/png) and optional label topics;
        ``mirrored``: another run of the simulator, the same stamps and other pictures."""
        path = bag_path(out, name, storage)
        with ImageBagWriter(path, storage=storage) as writer:
            for frame in self.frames:
                for number, (topic, encoding) in enumerate(cameras):
                    stamp = frame.stamp_ns + number * 1000  # cameras are not perfectly in sync
                    image = self.camera_image(frame, number)
                    image = np.ascontiguousarray(image[:, ::-1]) if mirrored else image
                    if encoding in ("jpeg", "png"):
                        writer.write_compressed(topic, stamp, image, fmt=encoding)
                    else:
                        writer.write(topic, stamp, image, encoding=encoding)
                    if label_topics and frame.index in self.keyframe_indices:
                        writer.write(label_topics[number], stamp, frame.labels, encoding="mono8")
        return path

    def camera_image(self, frame: SynthFrame, number: int) -> np.ndarray:
        """Camera 0 sees the drive; camera 1 sees it mirrored (a second, different view)."""
        return frame.image if number == 0 else np.ascontiguousarray(frame.image[:, ::-1])

    def write_keyframes(self, folder: Path, camera_number: int = 0) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for index in self.keyframe_indices:
            frame = self.frames[index]
            labels = frame.labels if camera_number == 0 else np.ascontiguousarray(frame.labels[:, ::-1])
            cv2.imwrite(str(folder / f"{frame.stamp_ns + camera_number * 1000}.png"), labels)
        return folder


@pytest.fixture(scope="session")
def tiny_drive() -> TinyDrive:
    return TinyDrive(render_drive(DriveConfig(width=96, height=72, frames=26, seed=3)).frames)


@pytest.fixture(scope="session")
def long_drive() -> TinyDrive:
    """Long enough that a kill after a few frames lands mid-run."""
    return TinyDrive(render_drive(DriveConfig(width=96, height=72, frames=160, seed=4)).frames)
