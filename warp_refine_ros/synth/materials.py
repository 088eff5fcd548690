"""Procedural textures of the static world: facades, walls, fences, plants, poles, signs, lights, sky.

Each maker takes a seeded generator and a ``detail`` factor (texels per metre relative to a 640-pixel
wide camera) and returns Textures. Colours are drawn per drive and per object from class palettes that
overlap a little (grey walls near grey facades, green fences near hedges), so a network has to learn
shape and texture, not just colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from warp_refine_ros.synth.texture import Texture, fractal, jitter_color, shade, smooth_noise

FACADE_COLORS = (
    (176, 92, 70),  # brick
    (150, 78, 60),  # dark brick
    (214, 200, 172),  # sandstone
    (226, 222, 210),  # white plaster
    (150, 150, 148),  # concrete
    (198, 168, 120),  # ochre
    (170, 180, 188),  # blue-grey
    (120, 112, 104),  # dark stone
)
FRAME_COLORS = ((240, 240, 236), (60, 60, 64), (110, 76, 50), (200, 200, 200))


def _px(metres: float, per_metre: float) -> int:
    """Texel count for a length, rounded to a multiple of 8 so halved mip levels stay aligned."""
    return max(8, round(metres * per_metre / 8.0) * 8)


@dataclass(frozen=True)
class FacadeStyle:
    """A building look: window bays on ``upper`` floors, shops on the ``ground`` floor, a plainer ``side``.

    Every texture is a whole number of bays wide (and floors high), so any run of bays can be cut out
    and repeated along a facade without a visible seam in the window grid.
    """

    upper: Texture
    ground: Texture
    side: Texture
    bay: float
    floor: float
    ground_floor: float
    bays: int
    floors: int


def facade_style(rng: np.random.Generator, detail: float) -> FacadeStyle:
    """A building look: wall colour and grain, window grid, shop fronts; sometimes a glass office."""
    bay, floor = float(rng.uniform(2.8, 4.2)), float(rng.uniform(2.9, 3.6))
    ground_floor = float(rng.uniform(3.4, 4.6))
    cell = _px(bay, 24.0 * detail)
    cell_h = _px(floor, 24.0 * detail)
    base = jitter_color(rng, FACADE_COLORS[rng.integers(len(FACADE_COLORS))], 0.1)
    glass = bool(rng.random() < 0.15)
    bays, floors = 6, 6
    upper = _facade(rng, base, bays, floors, cell, cell_h, 0.0 if glass else 0.95, glass)
    side = _facade(rng, base, bays, floors, cell, cell_h, 0.25, False)
    ground = _shopfronts(rng, base, bays, cell, _px(ground_floor, 24.0 * detail))
    return FacadeStyle(upper, ground, side, bay, floor, ground_floor, bays, floors)


def _wall_field(rng: np.random.Generator, h: int, w: int, base: np.ndarray, contrast: float) -> np.ndarray:
    field = fractal(rng, (h, w), (2.0, 8.0, 40.0), (0.5, 0.35, 0.3))
    return shade(base, field, contrast)


def _facade(
    rng: np.random.Generator,
    base: np.ndarray,
    bays: int,
    floors: int,
    cell: int,
    cell_h: int,
    window_rate: float,
    curtain_wall: bool,
) -> Texture:
    h, w = floors * cell_h, bays * cell
    img = _wall_field(rng, h, w, base, 0.09)
    if curtain_wall:
        window_rate = 1.0
    frame = np.array(FRAME_COLORS[rng.integers(len(FRAME_COLORS))], np.float32)
    ww, wh, top = rng.uniform(0.4, 0.62), rng.uniform(0.45, 0.62), 0.28
    if curtain_wall:
        ww, wh, top = 0.94, 0.86, 0.07
    cornice = rng.random() < 0.6
    for j in range(floors):
        y0 = j * cell_h
        if cornice:
            img[y0 : y0 + max(1, cell_h // 24)] *= 0.78
        for i in range(bays):
            if rng.random() >= window_rate:
                continue
            x0 = i * cell
            a, b = int(x0 + cell * (1 - ww) / 2), int(x0 + cell * (1 + ww) / 2)
            c, d = int(y0 + cell_h * top), int(y0 + cell_h * (top + wh))
            _window(rng, img, a, c, b, d, frame)
    return Texture.from_rgb(img)


def _window(
    rng: np.random.Generator, img: np.ndarray, x0: int, y0: int, x1: int, y1: int, frame: np.ndarray
) -> None:
    """A framed pane: dark glass with a sky reflection gradient, maybe curtains, blinds or a lit room."""
    border = max(1, (x1 - x0) // 12)
    img[y0 - border : y1 + border, x0 - border : x1 + border] = frame * rng.uniform(0.85, 1.0)
    h, w = y1 - y0, x1 - x0
    tone = np.array([58, 70, 86], np.float32) * rng.uniform(0.7, 1.4)
    grad = np.linspace(1.35, 0.75, h, dtype=np.float32)[:, None, None]
    pane = tone * grad + 14.0 * smooth_noise(rng, (h, w), max(2.0, w / 3.0))[..., None]
    kind = rng.random()
    if kind < 0.25:  # curtains
        curtain = jitter_color(rng, (200, 190, 170), 0.2)
        cw = int(w * rng.uniform(0.2, 0.45))
        pane[:, :cw] = 0.5 * pane[:, :cw] + 0.5 * curtain
        pane[:, w - cw :] = 0.5 * pane[:, w - cw :] + 0.5 * curtain
    elif kind < 0.35:  # lit
        pane = 0.4 * pane + 0.6 * jitter_color(rng, (235, 205, 140), 0.1)
    elif kind < 0.45:  # blinds
        pane[:: max(2, h // 10)] *= 1.6
    img[y0:y1, x0:x1] = pane
    if w > 6:  # mullion
        img[y0:y1, x0 + w // 2 - border // 2 : x0 + w // 2 + max(1, border // 2)] = frame
    img[y1 + border : y1 + 2 * border + 1, x0 - 2 * border : x1 + 2 * border] = frame * 0.8  # sill


def _shopfronts(rng: np.random.Generator, base: np.ndarray, bays: int, cell: int, height: int) -> Texture:
    w = bays * cell
    img = _wall_field(rng, height, w, base * rng.uniform(0.75, 1.0), 0.1)
    band = int(height * 0.16)
    sign = jitter_color(
        rng, ((40, 60, 120), (150, 30, 30), (30, 90, 60), (230, 230, 230))[rng.integers(4)], 0.2
    )
    img[int(height * 0.06) : int(height * 0.06) + band] = shade(sign, smooth_noise(rng, (band, w), 6.0), 0.12)
    frame = np.array(FRAME_COLORS[rng.integers(len(FRAME_COLORS))], np.float32)
    for i in range(bays):
        x0 = i * cell
        y0 = int(height * 0.3)
        if rng.random() < 0.3:  # door
            a, b = x0 + int(cell * 0.3), x0 + int(cell * 0.7)
            img[y0:height, a:b] = jitter_color(rng, (70, 50, 40), 0.3)
            img[y0:height, a + 2 : b - 2] *= 0.8
        else:  # shop window down to a low plinth
            _window(rng, img, x0 + int(cell * 0.08), y0, x0 + int(cell * 0.92), int(height * 0.88), frame)
    if rng.random() < 0.4:  # striped awning over the windows
        colour = jitter_color(rng, ((180, 40, 40), (40, 110, 60), (40, 60, 150))[rng.integers(3)], 0.2)
        y0, y1 = int(height * 0.22), int(height * 0.32)
        stripes = (np.arange(w) // max(2, cell // 8)) % 2 == 0
        img[y0:y1][:, stripes] = colour
        img[y0:y1][:, ~stripes] = 235.0
    return Texture.from_rgb(img)


STRIP_LENGTH = 10.0
"""Length (m) of the wall, fence and hedge textures."""
WALL_HEIGHT = 3.0
FENCE_HEIGHT = 2.0


def wall(
    rng: np.random.Generator, detail: float, length: float = STRIP_LENGTH, height: float = WALL_HEIGHT
) -> Texture:
    """Free-standing wall: stone blocks or concrete panels with a coping on top."""
    per_m = 32.0 * detail
    h, w = _px(height, per_m), _px(length, per_m)
    base = jitter_color(
        rng, ((150, 146, 138), (188, 176, 150), (140, 90, 74), (110, 110, 112))[rng.integers(4)], 0.1
    )
    img = _wall_field(rng, h, w, base, 0.12)
    bw, bh = _px(rng.uniform(0.3, 1.2), per_m), max(3, int(rng.uniform(0.15, 0.5) * per_m))
    for r, y in enumerate(range(0, h, bh)):
        img[y : y + 1] *= 0.7
        shift = (bw // 2) * (r % 2)
        for x in range(shift, w, bw):
            img[y : y + bh, x : x + 1] *= 0.72
            img[y : y + bh, x + 1 : x + bw] *= rng.uniform(0.9, 1.08)
    img[: max(2, h // 20)] = base * 1.15
    return Texture.from_rgb(img)


def fence(
    rng: np.random.Generator, detail: float, length: float = STRIP_LENGTH, height: float = FENCE_HEIGHT
) -> Texture:
    """See-through fence: metal bars or wooden pickets (alpha 0 between them), or closed panels."""
    per_m = 50.0 * detail
    h, w = _px(height, per_m), _px(length, per_m)
    kind = rng.integers(3)
    alpha = np.zeros((h, w), np.float32)
    if kind == 0:  # metal bars between two rails
        base = jitter_color(rng, ((40, 42, 44), (40, 70, 50), (150, 150, 150))[rng.integers(3)], 0.15)
        pitch, bar = max(3, int(0.12 * per_m)), max(1, int(0.025 * per_m))
        for x in range(0, w, pitch):
            alpha[int(0.04 * h) :, x : x + bar] = 1.0
        for y in (int(0.1 * h), int(0.85 * h)):
            alpha[y : y + max(1, int(0.04 * per_m))] = 1.0
    elif kind == 1:  # wooden pickets
        base = jitter_color(rng, ((150, 110, 70), (210, 205, 195), (120, 90, 60))[rng.integers(3)], 0.15)
        pitch, board = max(4, int(0.13 * per_m)), max(2, int(0.09 * per_m))
        for x in range(0, w, pitch):
            alpha[int(0.03 * per_m) :, x : x + board] = 1.0
        alpha[int(0.25 * h) : int(0.25 * h) + max(2, int(0.06 * per_m))] = 1.0
    else:  # closed panels
        base = jitter_color(rng, ((110, 120, 100), (170, 160, 140), (90, 80, 70))[rng.integers(3)], 0.15)
        alpha[:] = 1.0
        pitch = max(4, int(rng.uniform(1.5, 2.5) * per_m))
    img = shade(base, fractal(rng, (h, w), (1.5, 6.0, 30.0), (0.5, 0.35, 0.3)), 0.15)
    if kind == 2:
        img[:, ::pitch] *= 0.6
        img[:, :, :] *= np.linspace(1.05, 0.9, h, dtype=np.float32)[:, None, None]
    return Texture.from_rgb(img, alpha)


def _leaves(rng: np.random.Generator, h: int, w: int, base: np.ndarray) -> np.ndarray:
    """Leafy colour: strong fine clumping, darker inside, some yellow-green variation."""
    fine = fractal(rng, (h, w), (1.5, 4.0, 12.0), (0.5, 0.45, 0.35))
    hue = smooth_noise(rng, (h, w), 20.0)
    img = shade(base, fine, 0.3)
    img += hue[..., None] * np.array([10.0, 6.0, -3.0], np.float32)
    return img


def hedge(
    rng: np.random.Generator, detail: float, length: float = STRIP_LENGTH, height: float = 2.0
) -> Texture:
    """A clipped hedge: leafy texture with a ragged top edge."""
    per_m = 40.0 * detail
    h, w = _px(height, per_m), _px(length, per_m)
    base = jitter_color(rng, (58, 92, 40), 0.18)
    img = _leaves(rng, h, w, base)
    top = (
        0.15 * h + 0.1 * h * smooth_noise(rng, (1, w), 6.0)[0] + 0.05 * h * smooth_noise(rng, (1, w), 1.5)[0]
    )
    rows = np.arange(h, dtype=np.float32)[:, None]
    alpha = np.clip(rows - top[None, :] + 0.5, 0.0, 1.0)
    img *= np.linspace(1.1, 0.75, h, dtype=np.float32)[:, None, None]
    return Texture.from_rgb(img, alpha)


def crown(rng: np.random.Generator, detail: float, size: float = 6.0) -> Texture:
    """A tree crown seen from the street: a cluster of leafy blobs with a ragged outline."""
    n = _px(size, 36.0 * detail)
    base = jitter_color(
        rng, ((52, 88, 36), (70, 100, 40), (40, 72, 38), (86, 104, 46))[rng.integers(4)], 0.15
    )
    blobs = np.zeros((n, n), np.float32)
    for _ in range(int(rng.integers(7, 14))):
        cx, cy = rng.uniform(0.25, 0.75) * n, rng.uniform(0.25, 0.7) * n
        r = rng.uniform(0.14, 0.28) * n
        cv2.circle(blobs, (int(cx), int(cy)), int(r), 1.0, -1)
    blobs = cv2.GaussianBlur(blobs, (0, 0), n / 30.0)
    ragged = blobs + 0.35 * fractal(rng, (n, n), (2.0, 6.0), (0.6, 0.4))
    alpha = np.clip((ragged - 0.5) * 4.0, 0.0, 1.0)
    img = _leaves(rng, n, n, base)
    img *= np.clip(0.7 + 0.5 * blobs, 0.6, 1.2)[..., None]  # darker towards the edges and underside
    return Texture.from_rgb(img, alpha)


def bark(rng: np.random.Generator, detail: float) -> Texture:
    """Tree bark: streaky brown-grey with round shading."""
    w, h = 16, _px(4.0, 40.0 * detail)
    base = jitter_color(rng, (96, 80, 64), 0.2)
    streaks = (
        smooth_noise(rng, (h, w), 1.5) * 0.6 + smooth_noise(rng, (h // 8 + 1, w), 1.0).repeat(8, 0)[:h] * 0.5
    )
    img = shade(base, streaks, 0.25)
    img *= (0.75 + 0.35 * np.sin(np.linspace(0.2, np.pi - 0.2, w, dtype=np.float32)))[None, :, None]
    return Texture.from_rgb(img)


def metal(rng: np.random.Generator, detail: float, colour: tuple[int, int, int] | None = None) -> Texture:
    """A pole's surface: metal with cylinder shading and a few bands; stretched along any pole."""
    w, h = 16, _px(8.0, 32.0 * detail)
    if colour is None:
        colour = ((120, 122, 124), (70, 72, 74), (40, 70, 50), (150, 150, 145))[rng.integers(4)]
    base = jitter_color(rng, colour, 0.12)
    img = shade(base, fractal(rng, (h, w), (2.0, 12.0), (0.4, 0.4)), 0.12)
    img *= (0.65 + 0.5 * np.sin(np.linspace(0.15, np.pi - 0.15, w, dtype=np.float32)))[None, :, None]
    for y in rng.integers(0, h, size=3):
        img[y : y + max(2, h // 60)] *= 0.7
    return Texture.from_rgb(img)


def sign(rng: np.random.Generator, detail: float) -> Texture:
    """A traffic sign face: round, triangular, square or diamond, with a symbol, alpha outside the shape."""
    n = _px(0.7, 96.0 * detail)
    img = np.zeros((n, n, 3), np.float32)
    alpha = np.zeros((n, n), np.float32)
    c, r = n // 2, n // 2 - 1
    kind = rng.integers(5)
    red, white, blue, yellow = (200, 30, 36), (236, 236, 232), (30, 70, 160), (236, 196, 30)
    if kind == 0:  # prohibitory
        cv2.circle(alpha, (c, c), r, 1.0, -1)
        cv2.circle(img, (c, c), r, red, -1)
        cv2.circle(img, (c, c), int(r * 0.78), white, -1)
    elif kind == 1:  # warning triangle
        pts = np.array([[c, 1], [n - 2, n - 6], [1, n - 6]], np.int32)
        cv2.fillPoly(alpha, [pts], 1.0)
        cv2.fillPoly(img, [pts], red)
        inner = ((pts - [c, n * 0.6]) * 0.7 + [c, n * 0.6]).astype(np.int32)
        cv2.fillPoly(img, [inner], white)
    elif kind == 2:  # mandatory
        cv2.circle(alpha, (c, c), r, 1.0, -1)
        cv2.circle(img, (c, c), r, blue, -1)
    elif kind == 3:  # information square
        cv2.rectangle(alpha, (2, 2), (n - 3, n - 3), 1.0, -1)
        cv2.rectangle(img, (2, 2), (n - 3, n - 3), blue, -1)
        cv2.rectangle(img, (n // 5, n // 5), (n - n // 5, n - n // 5), white, -1)
    else:  # priority diamond
        pts = np.array([[c, 1], [n - 2, c], [c, n - 2], [1, c]], np.int32)
        cv2.fillPoly(alpha, [pts], 1.0)
        cv2.fillPoly(img, [pts], white)
        cv2.fillPoly(img, [((pts - c) * 0.6 + c).astype(np.int32)], yellow)
    symbol = ((30, 30, 30), (236, 236, 232))[int(kind in (2, 3) and rng.random() < 0.5)]
    thick = max(1, n // 12)
    if rng.random() < 0.5:  # an arrow
        cv2.line(img, (c, int(n * 0.75)), (c, int(n * 0.3)), symbol, thick)
        cv2.line(img, (c, int(n * 0.3)), (int(n * 0.36), int(n * 0.45)), symbol, thick)
        cv2.line(img, (c, int(n * 0.3)), (int(n * 0.64), int(n * 0.45)), symbol, thick)
    else:  # a bar or a pictogram block
        cv2.rectangle(img, (int(n * 0.3), int(n * 0.45)), (int(n * 0.7), int(n * 0.58)), symbol, -1)
    img *= (1.0 + 0.06 * smooth_noise(rng, (n, n), 8.0))[..., None]
    return Texture.from_rgb(img, alpha)


def traffic_light(rng: np.random.Generator, detail: float) -> Texture:
    """A three-lamp signal head with one lamp lit."""
    w, h = _px(0.35, 100.0 * detail), _px(0.95, 100.0 * detail)
    body = jitter_color(rng, ((30, 32, 30), (200, 170, 40), (60, 66, 60))[rng.integers(3)], 0.1)
    img = shade(body, smooth_noise(rng, (h, w), 4.0), 0.1)
    alpha = np.zeros((h, w), np.float32)
    cv2.rectangle(alpha, (0, 0), (w - 1, h - 1), 1.0, -1)
    lit = int(rng.integers(3))
    colours = ((255, 60, 40), (255, 190, 40), (60, 255, 120))
    for k in range(3):
        cy = int(h * (0.18 + 0.32 * k))
        on = np.array(colours[k], np.float32) * (1.0 if k == lit else 0.22)
        cv2.circle(img, (w // 2, cy), int(w * 0.34), (10, 10, 10), -1)
        cv2.circle(img, (w // 2, cy), int(w * 0.28), tuple(float(v) for v in on), -1)
    return Texture.from_rgb(img, alpha)


def sky(rng: np.random.Generator, detail: float) -> Texture:
    """Sky seen at infinity: blue-to-haze gradient with clouds, or an overcast grey."""
    w, h = _px(2048, detail), _px(640, detail)
    overcast = rng.random() < 0.3
    top = np.array((150, 160, 172) if overcast else rng.uniform((40, 90, 170), (90, 140, 215)), np.float32)
    horizon = np.array(
        (205, 208, 212) if overcast else rng.uniform((170, 195, 220), (215, 225, 240)), np.float32
    )
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None] ** 0.7
    img = top * (1 - t) + horizon * t + np.zeros((1, w, 3), np.float32)
    cover = rng.uniform(0.2, 0.6) if not overcast else 0.9
    clouds = fractal(rng, (h, w), (8.0, 30.0, 110.0), (0.25, 0.45, 0.6))
    amount = np.clip((clouds - (1.2 - 2.0 * cover)) * 0.7, 0.0, 1.0)[..., None]
    cloud = np.array((235, 235, 238), np.float32) * (0.8 + 0.1 * clouds[..., None])
    return Texture.from_rgb(img * (1 - amount) + cloud * amount)


def skyline(rng: np.random.Generator, detail: float, haze: np.ndarray, buildings: bool) -> Texture:
    """A distant row of towers (buildings) or a treeline, faded towards the haze colour."""
    w, h = _px(2048, detail), _px(160, detail)
    alpha = np.zeros((h, w), np.float32)
    if buildings:
        x = 0
        while x < w:
            bw = int(rng.uniform(0.01, 0.04) * w)
            top = int(h * rng.uniform(0.05, 0.75))
            alpha[top:, x : x + bw] = 1.0
            x += bw + int(rng.exponential(0.02 * w))
        base = np.array((120, 125, 135), np.float32)
    else:
        profile = 0.55 + 0.15 * smooth_noise(rng, (1, w), 40.0)[0] + 0.06 * smooth_noise(rng, (1, w), 4.0)[0]
        alpha = np.clip(np.arange(h, dtype=np.float32)[:, None] - h * profile[None, :] + 0.5, 0.0, 1.0)
        base = np.array((70, 92, 70), np.float32)
    img = shade(base, fractal(rng, (h, w), (2.0, 10.0), (0.5, 0.5)), 0.12)
    img = 0.55 * img + 0.45 * haze
    return Texture.from_rgb(img, alpha)
