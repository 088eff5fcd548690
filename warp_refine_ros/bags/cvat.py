"""CVAT's "Segmentation mask 1.1" export (Datumaro's ``voc_segmentation``): a labelmap and colour masks.

An export is a folder of ``labelmap.txt``, ``SegmentationClass/<item>.png``, ``SegmentationObject/``
(instances, not used here) and ``ImageSets/Segmentation/<subset>.txt``. ``labelmap.txt`` holds a
``# label:color_rgb:parts:actions`` header and one ``name:r,g,b:parts:actions`` line per label; each
mask pixel is painted with its label's colour (a one-channel mask holds labelmap positions instead).
CVAT adds a black ``background`` label to every export whose task has none; unlabeled pixels are
painted with it.

Labels meet a class spec by name: exactly, else ignoring case and treating spaces, ``-`` and ``_``
alike (``Traffic-Light`` is ``traffic light``). ``background`` is the spec's class of that name if it
has one, else the ignore id: a pixel nobody labeled is not a class.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from warp_refine_ros.errors import LabelError
from warp_refine_ros.labels import LabelSpec

LABELMAP = "labelmap.txt"
MASKS = "SegmentationClass"
IMAGES = "JPEGImages"  # Datumaro's name for the images folder, whatever their format
SUBSET_LISTS = Path("ImageSets", "Segmentation")
BACKGROUND = "background"
BACKGROUND_COLOR = (0, 0, 0)
_HEADER = "# label:color_rgb:parts:actions\n"

Color = tuple[int, int, int]


@dataclass(frozen=True)
class LabelMapEntry:
    """One line of labelmap.txt: a label name and its mask colour (None where the line names none)."""

    name: str
    color: Color | None


def read_labelmap(path: Path) -> list[LabelMapEntry]:
    """The labels of a labelmap.txt in file order; a malformed line is named with its number."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise LabelError(f"{path}: cannot read the CVAT labelmap ({err})") from err
    entries: dict[str, LabelMapEntry] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) != 4:
            raise LabelError(
                f"{path}:{number}: {line!r} is not 'name:r,g,b:parts:actions' (4 fields separated by ':')"
            )
        name, color = fields[0], _color(fields[1], f"{path}:{number}")
        if name in entries:
            raise LabelError(f"{path}:{number}: label {name!r} is listed twice")
        entries[name] = LabelMapEntry(name, color)
    return list(entries.values())


def _color(text: str, where: str) -> Color | None:
    if not text.strip():
        return None
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise LabelError(f"{where}: colour {text!r} is not r,g,b with each value in 0..255")
    return values  # type: ignore[return-value]


def labelmap_of(spec: LabelSpec) -> list[LabelMapEntry]:
    """The labelmap CVAT writes for a task of the spec's classes: its labels and a black ``background``
    (unless the spec has a class of that name) sorted by name, as Datumaro's exporter orders them."""
    entries = [LabelMapEntry(c.name, c.color) for c in spec.classes]
    if _class_named(BACKGROUND, spec) is None:
        entries.append(LabelMapEntry(BACKGROUND, BACKGROUND_COLOR))
    return sorted(entries, key=lambda e: e.name)


def write_labelmap(path: Path, entries: Sequence[LabelMapEntry]) -> None:
    """labelmap.txt in Datumaro's layout: the header, then ``name:r,g,b::`` per label."""
    lines = [f"{e.name}:{','.join(map(str, e.color)) if e.color else ''}::\n" for e in entries]
    path.write_text(_HEADER + "".join(lines), encoding="utf-8")


def painter(spec: LabelSpec) -> np.ndarray:
    """Lookup table (256, 3) uint8 from label id to mask colour; ignore is painted as background.

    Refuses a spec whose colours would read back as other classes: two classes of one colour, or a
    class (other than ``background``) painted black, which CVAT keeps for unlabeled pixels.
    """
    background = _class_named(BACKGROUND, spec)
    seen: dict[Color, str] = {} if background is not None else {BACKGROUND_COLOR: BACKGROUND}
    for c in spec.classes:
        if (other := seen.get(c.color)) is not None:
            raise LabelError(
                f"classes {other!r} and {c.name!r} share the colour {c.color}; colour masks tell classes "
                "apart by colour: give each class its own colour in the class spec"
                + (" (black is CVAT's background)" if other == BACKGROUND else "")
            )
        seen[c.color] = c.name
    table = spec.palette.copy()
    table[spec.ignore_id] = spec.classes[background].color if background is not None else BACKGROUND_COLOR
    return table


class MaskDecoder:
    """Turns one export's masks into label ids of a class spec, through its labelmap."""

    def __init__(self, labelmap: Path, spec: LabelSpec) -> None:
        self.labelmap = labelmap
        entries = read_labelmap(labelmap)
        ids = _ids_by_name(entries, spec, labelmap)
        self._by_position = np.array([ids[e.name] for e in entries], dtype=np.uint8)
        self._by_color: dict[int, int] = {}
        owner: dict[int, str] = {}
        for entry in entries:
            if entry.color is None:
                continue
            key = _pack(np.array(entry.color))
            if key in self._by_color and self._by_color[key] != ids[entry.name]:
                raise LabelError(
                    f"{labelmap}: labels {owner[key]!r} and {entry.name!r} share the colour {entry.color} "
                    "but are different classes; give each label its own colour in CVAT and export again"
                )
            self._by_color[key], owner[key] = ids[entry.name], entry.name

    def decode(self, path: Path) -> np.ndarray:
        """The (H, W) uint8 label ids of one mask: colours (RGB, alpha ignored) or labelmap positions."""
        data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if data is None:
            raise LabelError(f"{path}: cannot read as an image (missing or corrupt PNG)")
        if data.dtype != np.uint8 or (data.ndim == 3 and data.shape[2] not in (3, 4)):
            raise LabelError(
                f"{path}: a {data.dtype.itemsize * 8}-bit image of {data.shape[2] if data.ndim == 3 else 1} "
                "channel(s); a CVAT mask is an 8-bit colour PNG (or one channel of labelmap positions)"
            )
        if data.ndim == 2:
            return self._positions(path, data)
        rgb = np.ascontiguousarray(data[:, :, 2::-1])
        colors, inverse = np.unique(_pack(rgb).ravel(), return_inverse=True)
        ids = np.empty(len(colors), dtype=np.uint8)
        for i, key in enumerate(colors.tolist()):
            if key not in self._by_color:
                where = (inverse == i).reshape(data.shape[:2])
                raise LabelError(self._unknown(path, where, f"colour {_unpack(key)}"))
            ids[i] = self._by_color[key]
        return ids[inverse].reshape(data.shape[:2])

    def _positions(self, path: Path, data: np.ndarray) -> np.ndarray:
        if int(data.max(initial=0)) >= len(self._by_position):
            raise LabelError(self._unknown(path, data >= len(self._by_position), f"value {int(data.max())}"))
        return self._by_position[data]

    def _unknown(self, path: Path, where: np.ndarray, what: str) -> str:
        ys, xs = np.nonzero(where)
        return (
            f"{path}: {what} on {len(xs)} pixel(s) (first at x={xs[0]}, y={ys[0]}) is no label of "
            f"{self.labelmap}; paint those pixels with one of its labels in CVAT and export again"
        )


def _ids_by_name(entries: Sequence[LabelMapEntry], spec: LabelSpec, labelmap: Path) -> dict[str, int]:
    """Each label's class id in the spec; ``background`` without a spec class is the ignore id."""
    ids: dict[str, int] = {}
    missing = []
    for entry in entries:
        channel = _class_named(entry.name, spec)
        if channel is not None:
            ids[entry.name] = spec.classes[channel].id
        elif _normal(entry.name) == BACKGROUND:
            ids[entry.name] = spec.ignore_id
        else:
            missing.append(entry.name)
    if missing:
        raise LabelError(
            f"{labelmap}: label(s) {', '.join(map(repr, missing))} are no class of the class spec "
            f"({', '.join(spec.names)}); rename them in CVAT to the spec's names, or give a class spec "
            "(--classes) that has them"
        )
    return ids


def _class_named(name: str, spec: LabelSpec) -> int | None:
    """The channel of the spec class called ``name``: the exact name, else the one equal once normalised."""
    if name in spec.names:
        return spec.names.index(name)
    alike = [i for i, other in enumerate(spec.names) if _normal(other) == _normal(name)]
    if len(alike) > 1:
        raise LabelError(
            f"label {name!r} matches classes {[spec.names[i] for i in alike]} of the class spec alike; "
            "name it exactly as one of them"
        )
    return alike[0] if alike else None


def _normal(name: str) -> str:
    return re.sub(r"[\s_-]+", " ", name.strip()).casefold()


def _pack(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB -> (...) int64 ``r << 16 | g << 8 | b``."""
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]


def _unpack(key: int) -> Color:
    return key >> 16 & 255, key >> 8 & 255, key & 255
