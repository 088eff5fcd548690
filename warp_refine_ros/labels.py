"""Class specs and label images: ids on disk, per-pixel class probabilities in memory.

On disk a label is a one-channel uint8 PNG whose value is the class id, 255 meaning *ignore*.
In memory the propagation works on channels-last probabilities ``(H, W, C)`` float32 where channel
``c`` is the c-th class of the spec; an ignored pixel is the all-zero vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import cv2
import numpy as np
import yaml

from warp_refine_ros.errors import LabelError
from warp_refine_ros.fileio import atomic_write
from warp_refine_ros.resources import share_path

IGNORE_ID = 255


@dataclass(frozen=True)
class LabelClass:
    """One semantic class: the id written in label PNGs, a name and a display colour (RGB)."""

    id: int
    name: str
    color: tuple[int, int, int]


@dataclass(frozen=True)
class LabelSpec:
    """An ordered set of classes plus the ignore id; channel ``c`` of a probability map is ``classes[c]``."""

    classes: tuple[LabelClass, ...]
    ignore_id: int = IGNORE_ID

    def __post_init__(self) -> None:
        if not self.classes:
            raise LabelError("class spec has no classes")
        ids = [c.id for c in self.classes]
        if len(set(ids)) != len(ids):
            raise LabelError(f"class spec repeats ids: {sorted(ids)}")
        names = [c.name for c in self.classes]
        if repeated := sorted({name for name in names if names.count(name) > 1}):
            raise LabelError(f"class spec repeats names {repeated}: each class needs its own name")
        if not 0 <= self.ignore_id <= 255:
            raise LabelError(f"ignore_id {self.ignore_id} does not fit in a uint8 label")
        for c in self.classes:
            if not 0 <= c.id <= 255 or c.id == self.ignore_id:
                raise LabelError(
                    f"class {c.name!r} has id {c.id}; ids must be 0..255 and differ from "
                    f"ignore_id {self.ignore_id}"
                )
            if len(c.color) != 3 or not all(0 <= v <= 255 for v in c.color):
                raise LabelError(f"class {c.name!r} colour {c.color} is not [r, g, b] in 0..255")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def ids(self) -> np.ndarray:
        """Class id of each channel, shape (C,), uint8."""
        return np.array([c.id for c in self.classes], dtype=np.uint8)

    @property
    def id_to_channel(self) -> np.ndarray:
        """Lookup table (256,) from label id to channel; ignore and unknown ids map to -1."""
        table = np.full(256, -1, dtype=np.int16)
        table[self.ids] = np.arange(self.num_classes)
        return table

    @property
    def channel_to_id(self) -> np.ndarray:
        """Lookup table (256,) from channel index to label id; index 255 (no class) maps to ignore."""
        table = np.full(256, self.ignore_id, dtype=np.uint8)
        table[: self.num_classes] = self.ids
        return table

    @property
    def palette(self) -> np.ndarray:
        """Lookup table (256, 3) uint8 from label id to RGB colour; ignore is black."""
        table = np.zeros((256, 3), dtype=np.uint8)
        for c in self.classes:
            table[c.id] = c.color
        return table

    # --- files ---------------------------------------------------------------------------------

    @classmethod
    def from_yaml(cls, path: str | Path) -> LabelSpec:
        """Read ``classes: [{id, name, color: [r, g, b]}]`` and ``ignore_id`` from a YAML file."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise LabelError(f"class spec {path} does not exist") from err
        except yaml.YAMLError as err:
            raise LabelError(f"class spec {path} is not valid YAML: {err}") from err
        try:
            return cls.from_dict(data)
        except LabelError as err:
            raise LabelError(f"class spec {path}: {err}") from err

    @classmethod
    def from_dict(cls, data: object) -> LabelSpec:
        """Build a spec from the parsed YAML mapping (also what ONNX metadata stores)."""
        if not isinstance(data, dict) or not isinstance(data.get("classes"), list):
            raise LabelError("expected a mapping with a 'classes' list")
        classes = []
        for i, entry in enumerate(data["classes"]):
            try:
                classes.append(
                    LabelClass(
                        _integer(entry["id"], f"class #{i} {entry!r}: id"),
                        str(entry["name"]),
                        tuple(_integer(v, f"class #{i} {entry!r}: colour value") for v in entry["color"]),
                    )
                )
            except (KeyError, TypeError) as err:
                raise LabelError(f"class #{i} {entry!r} needs id, name and color [r, g, b]") from err
        return cls(tuple(classes), _integer(data.get("ignore_id", IGNORE_ID), "ignore_id"))

    def class_differences(self, other: LabelSpec) -> list[str]:
        """How ``other`` names other classes than this spec (ids, or names of the same ids; colours do not
        count), one line each; empty when both speak of the same classes."""
        ours = {c.id: c.name for c in self.classes}
        theirs = {c.id: c.name for c in other.classes}
        if set(ours) != set(theirs):
            return [f"ids {id_ranges(list(ours))} against {id_ranges(list(theirs))}"]
        if list(ours) != list(theirs):
            return [f"ids in the order {list(ours)} against {list(theirs)}"]
        return [f"id {i}: {ours[i]!r} against {theirs[i]!r}" for i in ours if ours[i] != theirs[i]]

    def to_dict(self) -> dict:
        return {
            "classes": [{"id": c.id, "name": c.name, "color": list(c.color)} for c in self.classes],
            "ignore_id": self.ignore_id,
        }

    def to_yaml(self, path: str | Path) -> None:
        """Write the spec as YAML, whole or not at all (a temporary file and a rename)."""
        atomic_write(Path(path), yaml.safe_dump(self.to_dict(), sort_keys=False).encode("utf-8"))

    @classmethod
    def default(cls) -> LabelSpec:
        """Cityscapes' 19 train classes, the default spec."""
        return cls.from_yaml(share_path("config/classes/cityscapes.yaml"))

    # --- label images ---------------------------------------------------------------------------

    def validate(
        self, labels: np.ndarray, *, shape: Sequence[int] | None = None, name: str = "label"
    ) -> np.ndarray:
        """Check a label image: 2-D uint8, expected ``(H, W)`` if given, only known ids or ignore."""
        if not isinstance(labels, np.ndarray) or labels.ndim != 2:
            got = getattr(labels, "shape", type(labels).__name__)
            raise LabelError(f"{name}: expected a one-channel (H, W) label image, got shape {got}")
        if labels.dtype != np.uint8:
            raise LabelError(f"{name}: expected uint8 class ids, got dtype {labels.dtype}")
        if shape is not None and tuple(labels.shape) != tuple(shape[:2]):
            raise LabelError(
                f"{name}: label is {labels.shape[1]}x{labels.shape[0]} but the image is "
                f"{shape[1]}x{shape[0]} (width x height)"
            )
        present = np.flatnonzero(np.bincount(labels.ravel(), minlength=256))
        unknown = [int(v) for v in present if self.id_to_channel[v] < 0 and v != self.ignore_id]
        if unknown:
            raise LabelError(
                f"{name}: ids {unknown[:10]} are not in the class spec "
                f"(known: {id_ranges(self.ids.tolist())}; {self.ignore_id} = ignore)"
            )
        return labels

    def one_hot(self, labels: np.ndarray) -> np.ndarray:
        """Label ids (H, W) uint8 -> probabilities (H, W, C) float32; ignore -> all zeros.

        A row lookup: broadcasting a comparison against C channels cost 70 ms at 640x480, this 9.
        """
        rows = np.eye(self.num_classes + 1, self.num_classes, dtype=np.float32)  # last row: ignore
        return rows[self.id_to_channel[labels]]

    def to_ids(self, channels: np.ndarray) -> np.ndarray:
        """Channel indices (H, W) uint8 (255 = none) -> label ids with the ignore id."""
        return self.channel_to_id[channels]

    def colorize(self, labels: np.ndarray) -> np.ndarray:
        """Label ids (H, W) -> RGB image (H, W, 3) uint8 using the class colours."""
        return self.palette[labels]


def _integer(value: object, what: str) -> int:
    """``value`` as an int when it is a whole number written as one (2.7 or "2" is refused, not cut)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise LabelError(f"{what} {value!r} is not an integer")
    return int(value)


def id_ranges(ids: Sequence[int]) -> str:
    """Sorted ids as compact ranges for messages: [0, 1, 2, 5, 254] -> "0..2, 5, 254"."""
    runs: list[list[int]] = []
    for value in sorted(ids):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in runs)


def overlay(image: np.ndarray, color_labels: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a colourised label image over an RGB image for review."""
    return cv2.addWeighted(image, 1.0 - alpha, color_labels, alpha, 0.0)


def read_label_png(path: str | Path) -> np.ndarray:
    """Read a label PNG as (H, W) uint8 class ids: one grey channel, or a palette PNG's indices (the
    VOC convention of labeling tools), or 16-bit grey holding ids under 256; anything else is named."""
    path = Path(path)
    try:
        header = path.read_bytes()[:26] if path.is_file() else b""
    except OSError as err:
        raise LabelError(f"{path}: cannot read ({err.strerror})") from err
    if header[:8] == _PNG_SIGNATURE and header[25:26] == _PALETTE:
        return _palette_indices(path)
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise LabelError(f"{path}: cannot read as an image (missing or corrupt PNG)")
    if data.ndim == 2 and data.dtype == np.uint16:
        return _narrow_ids(path, data)
    if data.ndim != 2 or data.dtype != np.uint8:
        kind = _PIXEL_KINDS.get(data.shape[2] if data.ndim == 3 else 1, "multi-channel")
        largest = "" if data.dtype == np.uint8 else f" with values up to {int(data.max())}"
        raise LabelError(
            f"{path}: a {kind} {data.dtype.itemsize * 8}-bit image{largest}; a label PNG must hold one "
            "channel of class ids 0..255 (grey, or palette indices): convert colours to ids first"
        )
    return data


def _narrow_ids(path: Path, ids: np.ndarray) -> np.ndarray:
    """A one-channel 16-bit label as uint8 ids; ids over 255 (instance ids, ids scaled by 256) are named."""
    over = int(np.count_nonzero(ids > 255))
    if over:
        raise LabelError(
            f"{path}: a one-channel 16-bit label with ids up to {int(ids.max())} ({over} pixels over 255); "
            "class ids must be < 256: write your class spec's ids (0..255) as 8-bit grey or palette PNGs"
        )
    return ids.astype(np.uint8)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PALETTE = b"\x03"  # IHDR colour type 3: indexed colour
_PIXEL_KINDS = {2: "grey+alpha", 3: "colour (RGB)", 4: "colour+alpha (RGBA)"}


def _palette_indices(path: Path) -> np.ndarray:
    """The palette indices of an indexed-colour PNG (OpenCV would expand them to colours)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as err:
        raise LabelError(f"{path}: cannot read as a palette PNG ({err})") from err
