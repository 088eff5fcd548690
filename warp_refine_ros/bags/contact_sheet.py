"""A contact sheet of suggested keyframes: per stream, where motion stops carrying labels and where the
keyframes fall; then a thumbnail of each suggested frame captioned with its stamp."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

TILE_WIDTH = 240
COLUMNS = 5
PAD = 8
CAPTION = 36  # pixels of text under a thumbnail
STRIP = 90  # pixels of one stream's curve
MAX_TILES = 100  # beyond this the sheet says how many more there are
FONT = cv2.FONT_HERSHEY_SIMPLEX
INK, GREY, NEW, LABELED, CURVE = (20, 20, 20), (150, 150, 150), (220, 30, 30), (40, 110, 220), (30, 30, 30)


@dataclass(frozen=True)
class Tile:
    """One suggested frame: its thumbnail (RGB) and two caption lines."""

    image: np.ndarray
    caption: tuple[str, str]


@dataclass(frozen=True)
class Curve:
    """One stream: a value in 0..1 per frame, and the positions of new and already labeled keyframes."""

    title: str
    values: np.ndarray
    new: list[int]
    labeled: list[int]


def thumbnail(image: np.ndarray) -> np.ndarray:
    """The image scaled to the sheet's tile width."""
    height = max(1, round(image.shape[0] * TILE_WIDTH / image.shape[1]))
    return cv2.resize(image, (TILE_WIDTH, height), interpolation=cv2.INTER_AREA)


def draw(curves: list[Curve], tiles: list[Tile]) -> np.ndarray:
    """The sheet as an RGB image: the curves stacked on top, the tiles in rows under them."""
    width = COLUMNS * (TILE_WIDTH + PAD) + PAD
    shown = tiles[:MAX_TILES]
    rows = [shown[i : i + COLUMNS] for i in range(0, len(shown), COLUMNS)]
    row_heights = [max(t.image.shape[0] for t in row) + CAPTION + PAD for row in rows]
    more = 30 if len(tiles) > MAX_TILES else 0
    height = PAD + len(curves) * (STRIP + PAD) + sum(row_heights) + more + PAD
    sheet = np.full((height, width, 3), 255, np.uint8)
    y = PAD
    for curve in curves:
        _draw_curve(sheet, curve, y, width)
        y += STRIP + PAD
    for row, row_height in zip(rows, row_heights, strict=True):
        for column, tile in enumerate(row):
            _draw_tile(sheet, tile, PAD + column * (TILE_WIDTH + PAD), y)
        y += row_height
    if more:
        _text(sheet, f"... and {len(tiles) - MAX_TILES} more suggested frames in images/", PAD, y + 18, INK)
    return sheet


def _draw_curve(sheet: np.ndarray, curve: Curve, top: int, width: int) -> None:
    left, right = PAD, width - PAD
    plot_top, plot_bottom = top + 20, top + STRIP - 4
    _text(sheet, curve.title, left, top + 13, INK)
    cv2.rectangle(sheet, (left, plot_top), (right, plot_bottom), GREY, 1)
    frames = max(len(curve.values), 1)

    def x_of(position: float) -> int:
        return round(left + (right - left) * (position + 0.5) / frames)

    for positions, colour in ((curve.labeled, LABELED), (curve.new, NEW)):
        for position in positions:
            cv2.line(sheet, (x_of(position), plot_top), (x_of(position), plot_bottom), colour, 2)
    values = np.clip(np.nan_to_num(curve.values), 0.0, 1.0)
    points = np.array(
        [(x_of(i), round(plot_bottom - v * (plot_bottom - plot_top))) for i, v in enumerate(values)], np.int32
    )
    if len(points) > 1:
        cv2.polylines(sheet, [points], False, CURVE, 1, cv2.LINE_AA)


def _draw_tile(sheet: np.ndarray, tile: Tile, x: int, y: int) -> None:
    image = tile.image
    sheet[y : y + image.shape[0], x : x + image.shape[1]] = image
    _text(sheet, tile.caption[0], x, y + image.shape[0] + 14, INK)
    _text(sheet, tile.caption[1], x, y + image.shape[0] + 30, GREY)


def _text(sheet: np.ndarray, text: str, x: int, y: int, colour: tuple[int, int, int]) -> None:
    cv2.putText(sheet, text, (x, y), FONT, 0.42, colour, 1, cv2.LINE_AA)
