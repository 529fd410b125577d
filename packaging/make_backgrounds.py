"""Paint Backdrop's bundled backgrounds procedurally: 1920x1080 JPEGs, public domain (CC0).

Every scene is drawn from code with a fixed seed, so the files can be regenerated exactly.
Scenes are painted in float RGB in [0, 1], lightly blurred like a camera's depth of field,
and dithered with fine grain so that JPEG compression does not band the gradients.

Usage::

    python packaging/make_backgrounds.py [assets/backgrounds]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

WIDTH_PX = 1920
HEIGHT_PX = 1080
JPEG_QUALITY = 85
Rgb = tuple[int, int, int]


# --- painting helpers -----------------------------------------------------------------------
def _coords() -> tuple[np.ndarray, np.ndarray]:
    """x and y of every pixel, normalised: x in [0, 16/9], y in [0, 1]."""
    y, x = np.mgrid[0:HEIGHT_PX, 0:WIDTH_PX].astype(np.float32)
    return x / HEIGHT_PX, y / HEIGHT_PX


def _rgb(color: Rgb) -> np.ndarray:
    return np.array(color, np.float32) / 255.0


def _vertical_gradient(stops: list[tuple[float, Rgb]]) -> np.ndarray:
    """A canvas whose colour follows (position 0..1 from the top, colour) stops."""
    positions = np.linspace(0.0, 1.0, HEIGHT_PX)
    stop_positions = [position for position, _ in stops]
    column = np.stack(
        [np.interp(positions, stop_positions, [c[i] / 255.0 for _, c in stops]) for i in range(3)],
        axis=1,
    ).astype(np.float32)
    return np.repeat(column[:, np.newaxis, :], WIDTH_PX, axis=1)


def _radial(center: tuple[float, float], radius: float) -> np.ndarray:
    """1 at center (normalised coords), falling smoothly to 0 at radius."""
    x, y = _coords()
    distance = np.sqrt((x - center[0]) ** 2 + (y - center[1]) ** 2) / radius
    falloff = np.clip(1.0 - distance, 0.0, 1.0)
    return falloff * falloff * (3.0 - 2.0 * falloff)


def _paint(canvas: np.ndarray, coverage: np.ndarray, color: Rgb, opacity: float = 1.0) -> None:
    """In place: blend color over canvas where coverage (0..1, HxW) says."""
    weight = (coverage * opacity)[:, :, np.newaxis]
    canvas *= 1.0 - weight
    canvas += weight * _rgb(color)


def _glow(canvas: np.ndarray, coverage: np.ndarray, color: Rgb, strength: float) -> None:
    """In place: add light (screen blend) where coverage says."""
    light = (coverage * strength)[:, :, np.newaxis] * _rgb(color)
    canvas += light * (1.0 - canvas)


def _mask(draw: Callable[[np.ndarray], object], blur_px: float = 0.0) -> np.ndarray:
    """Coverage 0..1 of shapes drawn (in white, anti-aliased) by draw on a blank 8-bit mask."""
    mask = np.zeros((HEIGHT_PX, WIDTH_PX), np.uint8)
    draw(mask)
    coverage = mask.astype(np.float32) / 255.0
    return _blurred(coverage, blur_px) if blur_px > 0 else coverage


def _blurred(image: np.ndarray, sigma_px: float) -> np.ndarray:
    return np.asarray(cv2.GaussianBlur(image, (0, 0), sigma_px))


def _ring(center: tuple[int, int], radius_px: int, thickness_px: int, blur_px: float) -> np.ndarray:
    """Coverage of an anti-aliased circle (thickness -1 fills it)."""
    return _mask(
        lambda m: cv2.circle(m, center, radius_px, 255, thickness_px, cv2.LINE_AA), blur_px
    )


def _vignette(canvas: np.ndarray, strength: float) -> None:
    x, y = _coords()
    distance = np.sqrt(((x - 8 / 9) / (8 / 9)) ** 2 + ((y - 0.5) / 0.5) ** 2) / np.sqrt(2)
    canvas *= (1.0 - strength * distance**2)[:, :, np.newaxis]


def _finish(canvas: np.ndarray, rng: np.random.Generator, blur_px: float) -> np.ndarray:
    """Depth-of-field blur, grain against banding, then uint8 BGR."""
    if blur_px > 0:
        canvas = _blurred(canvas, blur_px)
    grain = rng.normal(0.0, 1.2 / 255.0, canvas.shape[:2]).astype(np.float32)
    canvas = canvas + grain[:, :, np.newaxis]
    rgb = np.clip(canvas * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def _point(x: float, y: float) -> tuple[int, int]:
    """Normalised coords to a pixel position."""
    return round(x * HEIGHT_PX), round(y * HEIGHT_PX)


# --- scenes ----------------------------------------------------------------------------------
def studio_gradient(rng: np.random.Generator) -> np.ndarray:
    """A photographer's grey-blue backdrop lit from the upper left."""
    canvas = _vertical_gradient([(0.0, (96, 108, 122)), (1.0, (58, 66, 78))])
    _glow(canvas, _radial((0.95, 0.42), 1.1), (190, 200, 212), 0.75)
    _glow(canvas, _radial((0.45, 0.2), 0.7), (230, 226, 214), 0.25)
    _vignette(canvas, 0.45)
    return _finish(canvas, rng, 0.0)


def living_room_bokeh(rng: np.random.Generator) -> np.ndarray:
    """A warm evening room far out of focus: lamp glow and round bokeh lights."""
    canvas = _vertical_gradient([(0.0, (58, 40, 34)), (0.6, (92, 62, 44)), (1.0, (48, 32, 26))])
    _glow(canvas, _radial((1.45, 0.35), 0.75), (255, 186, 110), 0.55)
    sofa = _mask(_draw_sofa, 24)
    _paint(canvas, sofa, (40, 28, 26), 0.9)
    palette: list[Rgb] = [(255, 196, 120), (255, 222, 170), (255, 160, 90), (255, 182, 110),
                          (200, 220, 214)]  # fmt: skip
    for _ in range(46):
        center = _point(rng.uniform(0.0, 16 / 9), rng.beta(1.6, 2.4) * 0.85)
        radius = int(rng.uniform(18, 80))
        disc = _ring(center, radius, -1, 2.5)
        rim = _ring(center, radius - 3, 3, 2.0)
        color = palette[int(rng.integers(len(palette)))]
        strength = rng.uniform(0.15, 0.5)
        _glow(canvas, disc, color, strength)
        _glow(canvas, rim, color, strength * 0.5)
    _vignette(canvas, 0.5)
    return _finish(canvas, rng, 1.5)


def _draw_sofa(mask: np.ndarray) -> None:
    """A low sofa across the bottom of the room: backrest, cushions, arms."""
    radius_px = round(0.05 * HEIGHT_PX)
    cv2.rectangle(mask, _point(0.22, 0.7), _point(1.56, 1.1), 255, -1)
    for arm_left, arm_right in ((0.08, 0.28), (1.5, 1.7)):
        cv2.rectangle(mask, _point(arm_left, 0.83), _point(arm_right, 1.1), 255, -1)
        cv2.rectangle(mask, _point(arm_left + 0.05, 0.78), _point(arm_right - 0.05, 0.9), 255, -1)
        for corner in (arm_left + 0.05, arm_right - 0.05):
            cv2.circle(mask, _point(corner, 0.83), radius_px, 255, -1)


def bookshelf(rng: np.random.Generator) -> np.ndarray:
    """A wooden bookshelf full of books, slightly out of focus."""
    canvas = _vertical_gradient([(0.0, (70, 48, 34)), (1.0, (52, 36, 26))])
    shelf_tops_px = [60, 330, 600, 870]
    book_colors: list[Rgb] = [(122, 36, 40), (38, 58, 96), (44, 86, 62), (196, 150, 60),
                              (214, 204, 180), (40, 110, 118), (92, 30, 52), (110, 112, 118),
                              (168, 84, 48), (30, 34, 40)]  # fmt: skip
    for top_px in shelf_tops_px:
        _books_on_shelf(canvas, rng, top_px, book_colors)
        plank = np.zeros((HEIGHT_PX, WIDTH_PX), np.float32)
        plank[top_px + 228 : top_px + 262] = 1.0
        _paint(canvas, plank, (120, 82, 52))
        lip = np.zeros_like(plank)
        lip[top_px + 228 : top_px + 232] = 1.0
        _glow(canvas, lip, (255, 220, 170), 0.35)
    for left_px in (0, WIDTH_PX - 40):
        side = np.zeros((HEIGHT_PX, WIDTH_PX), np.float32)
        side[:, left_px : left_px + 40] = 1.0
        _paint(canvas, side, (104, 70, 44))
    _glow(canvas, _radial((0.9, 0.15), 1.0), (255, 214, 160), 0.3)
    _vignette(canvas, 0.55)
    return _finish(canvas, rng, 2.5)


def _books_on_shelf(
    canvas: np.ndarray, rng: np.random.Generator, top_px: int, colors: list[Rgb]
) -> None:
    """Fill one shelf, left to right, with upright books of varied width, height and colour."""
    bottom_px = top_px + 228
    left_px = 40 + int(rng.integers(0, 30))
    while left_px < WIDTH_PX - 80:
        if rng.random() < 0.06:  # a gap now and then
            left_px += int(rng.integers(60, 160))
            continue
        width_px = int(rng.integers(22, 54))
        height_px = int(rng.integers(150, 215))
        book = np.zeros((HEIGHT_PX, WIDTH_PX), np.float32)
        book[bottom_px - height_px : bottom_px, left_px : left_px + width_px - 2] = 1.0
        color = colors[int(rng.integers(len(colors)))]
        shade = rng.uniform(0.75, 1.1)
        _paint(canvas, book, tuple(min(255, int(c * shade)) for c in color))  # type: ignore[arg-type]
        for band_px in (bottom_px - height_px + 18, bottom_px - 26):
            band = np.zeros_like(book)
            band[band_px : band_px + 5, left_px + 3 : left_px + width_px - 5] = 1.0
            _paint(canvas, band, (222, 196, 120), 0.55)
        left_px += width_px


def office_window(rng: np.random.Generator) -> np.ndarray:
    """A calm office wall with a bright window behind half-open blinds."""
    canvas = _vertical_gradient([(0.0, (206, 202, 194)), (1.0, (168, 164, 156))])
    left, top, right, bottom = 0.78, 0.1, 1.62, 0.74
    window = np.zeros((HEIGHT_PX, WIDTH_PX), np.float32)
    (x0, y0), (x1, y1) = _point(left, top), _point(right, bottom)
    sky = _vertical_gradient([(top, (150, 196, 236)), (bottom, (226, 238, 246))])
    window[y0:y1, x0:x1] = 1.0
    canvas[y0:y1, x0:x1] = sky[y0:y1, x0:x1]
    for index in range(7):  # distant buildings, pale with haze
        bx = x0 + int(rng.integers(0, x1 - x0 - 120))
        by = y0 + int(rng.uniform(0.35, 0.7) * (y1 - y0))
        building = canvas[by:y1, bx : bx + int(rng.integers(90, 220))]
        building[:] = 0.55 * building + 0.45 * _rgb((206 - index * 5, 212 - index * 5, 222))
    period_px = 30
    slat = np.zeros((HEIGHT_PX, WIDTH_PX), np.float32)
    for slat_top in range(y0, y1, period_px):
        ramp = np.linspace(1.0, 0.82, 21, dtype=np.float32)[:, np.newaxis]
        slat[slat_top : slat_top + 21, x0 - 20 : x1 + 20] = ramp[: max(0, y1 - slat_top)]
    blinds = (slat > 0).astype(np.float32)
    _paint(canvas, blinds, (236, 234, 228))
    canvas *= np.where(blinds > 0, slat, 1.0)[:, :, np.newaxis]
    frame = _mask(lambda m: cv2.rectangle(m, (x0 - 24, y0 - 24), (x1 + 24, y1 + 24), 255, 22))
    _paint(canvas, frame, (244, 243, 240))
    sill = _mask(lambda m: cv2.rectangle(m, (x0 - 50, y1 + 24), (x1 + 50, y1 + 44), 255, -1))
    _paint(canvas, sill, (232, 230, 226))
    _glow(canvas, _radial((1.2, 0.42), 0.9) * (1.0 - window), (255, 246, 226), 0.3)
    x, y = _coords()
    stripes = (np.sin((y + 0.45 * x) * HEIGHT_PX * 2 * np.pi / 46) > 0.1).astype(np.float32)
    patch = _radial((0.42, 0.62), 0.32) * (1.0 - window)
    _glow(canvas, _blurred(stripes, 4.0) * patch, (255, 232, 190), 0.45)
    _vignette(canvas, 0.3)
    return _finish(canvas, rng, 2.5)


def blue_waves(rng: np.random.Generator) -> np.ndarray:
    """Abstract layered waves in deep and bright blues."""
    canvas = _vertical_gradient([(0.0, (12, 28, 64)), (1.0, (20, 60, 120))])
    x, y = _coords()
    colors: list[Rgb] = [(28, 74, 140), (34, 98, 170), (46, 126, 196), (70, 156, 214),
                         (120, 190, 230), (30, 84, 156)]  # fmt: skip
    for index, color in enumerate(colors):
        base = 0.38 + index * 0.1
        phase = rng.uniform(0, 2 * np.pi)
        crest = base + 0.06 * np.sin(x * 2.2 + phase) + 0.025 * np.sin(x * 5.1 + phase * 1.7)
        depth = y - crest
        body = np.clip(depth * HEIGHT_PX / 2.5, 0.0, 1.0)
        shade = np.clip(1.0 - depth * 1.2, 0.55, 1.0)
        _paint(canvas, body * 0.88, color)
        canvas *= np.where(depth > 0, 0.92 + 0.08 * shade, 1.0)[:, :, np.newaxis]
        highlight = np.exp(-((depth * HEIGHT_PX / 3.0) ** 2))
        _glow(canvas, highlight, (190, 226, 255), 0.35)
    _glow(canvas, _radial((0.5, 0.1), 0.9), (120, 170, 255), 0.25)
    _vignette(canvas, 0.35)
    return _finish(canvas, rng, 1.0)


def green_leaves(rng: np.random.Generator) -> np.ndarray:
    """A pale wall with leafy plants framing the corners, the centre left calm."""
    canvas = _vertical_gradient([(0.0, (226, 228, 214)), (1.0, (186, 192, 172))])
    _glow(canvas, _radial((1.3, 0.25), 1.0), (255, 250, 232), 0.35)
    for layer_blur_px, darkness, count in ((14.0, 0.55, 14), (3.0, 0.0, 18)):
        leaves = np.zeros((HEIGHT_PX, WIDTH_PX, 3), np.float32)
        coverage = np.zeros((HEIGHT_PX, WIDTH_PX), np.float32)
        for _ in range(count):
            _draw_leaf(leaves, coverage, rng, darkness)
        coverage = _blurred(coverage, layer_blur_px)
        leaves = _blurred(leaves, layer_blur_px)
        safe = np.maximum(coverage, 1e-4)[:, :, np.newaxis]
        weight = np.clip(coverage, 0, 1)[:, :, np.newaxis]
        canvas = canvas * (1 - weight) + (leaves / safe) * weight
    _vignette(canvas, 0.3)
    return _finish(canvas, rng, 0.8)


def _draw_leaf(
    leaves: np.ndarray, coverage: np.ndarray, rng: np.random.Generator, darkness: float
) -> None:
    """One pointed leaf growing in from a side edge, coloured with its midrib."""
    from_left = rng.random() < 0.5
    base_x = rng.uniform(-0.12, 0.08) if from_left else rng.uniform(1.7, 1.9)
    base = np.array([base_x, rng.uniform(0.45, 1.15)])
    angle = rng.uniform(-1.2, -0.1) if from_left else rng.uniform(-3.0, -1.95)
    length, width = rng.uniform(0.3, 0.55), rng.uniform(0.07, 0.12)
    direction = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    t = np.linspace(0.0, 1.0, 40)
    bend = 0.08 * t**2
    spine = base + np.outer(t * length, direction) + np.outer(bend, normal)
    half = width * np.sin(np.pi * t) ** 0.9
    green = np.array([rng.uniform(40, 110), rng.uniform(105, 165), rng.uniform(40, 80)]) / 255.0
    green *= 1.0 - darkness * rng.uniform(0.6, 1.0)
    spine_px = (spine * HEIGHT_PX).astype(np.int32)
    for side, shade in ((1.0, 1.0), (-1.0, 0.78)):  # the two halves catch the light differently
        outline = np.concatenate([spine + side * np.outer(half, normal), spine[::-1]])
        half_mask = np.zeros(coverage.shape, np.uint8)
        cv2.fillPoly(half_mask, [(outline * HEIGHT_PX).astype(np.int32)], 255, cv2.LINE_AA)
        _stamp(leaves, coverage, half_mask, (green * shade).astype(np.float32))
    rib_mask = np.zeros(coverage.shape, np.uint8)
    cv2.polylines(rib_mask, [spine_px[:-4]], False, 255, 3, cv2.LINE_AA)
    _stamp(leaves, coverage, rib_mask, np.minimum(green * 1.35 + 0.08, 1.0).astype(np.float32))


def _stamp(leaves: np.ndarray, coverage: np.ndarray, mask: np.ndarray, color: np.ndarray) -> None:
    """Paint color over the leaves layer where the 8-bit mask is set."""
    weight = mask.astype(np.float32)[:, :, np.newaxis] / 255.0
    leaves *= 1.0 - weight
    leaves += weight * color
    np.maximum(coverage, weight[:, :, 0], out=coverage)


def sunset_hills(rng: np.random.Generator) -> np.ndarray:
    """A sunset sky over layered hills fading into haze."""
    canvas = _vertical_gradient([(0.0, (44, 46, 102)), (0.3, (128, 78, 128)),
                                 (0.52, (236, 128, 96)), (0.66, (255, 196, 128))])  # fmt: skip
    _glow(canvas, _radial((1.15, 0.62), 0.6), (255, 220, 150), 0.7)
    sun = _ring(_point(1.15, 0.6), 60, -1, 3.0)
    _glow(canvas, sun, (255, 244, 214), 0.9)
    x, y = _coords()
    layers: list[tuple[float, Rgb]] = [(0.64, (150, 86, 112)), (0.72, (104, 58, 92)),
                                       (0.82, (64, 38, 70)), (0.92, (34, 22, 44))]  # fmt: skip
    for index, (ridge, color) in enumerate(layers):
        phase = rng.uniform(0, 2 * np.pi, 3)
        scale = 1.0 + index * 0.5
        height = ridge - 0.035 * scale * (
            np.sin(x * 2.1 + phase[0]) + 0.5 * np.sin(x * 4.7 + phase[1])
            + 0.2 * np.sin(x * 11.3 + phase[2])
        )  # fmt: skip
        _paint(canvas, np.clip((y - height) * HEIGHT_PX / 2.0, 0.0, 1.0), color)
    _vignette(canvas, 0.3)
    return _finish(canvas, rng, 0.8)


SCENES: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "studio_gradient": studio_gradient,
    "living_room_bokeh": living_room_bokeh,
    "bookshelf": bookshelf,
    "office_window": office_window,
    "blue_waves": blue_waves,
    "green_leaves": green_leaves,
    "sunset_hills": sunset_hills,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", nargs="?", default="assets/backgrounds", type=Path)
    parser.add_argument("--only", nargs="*", default=list(SCENES), help="scene names to draw")
    args = parser.parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for seed, (name, paint) in enumerate(SCENES.items()):
        if name not in args.only:
            continue
        image_bgr = paint(np.random.default_rng(seed))
        ok, encoded = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise SystemExit(f"could not encode {name}")
        path = args.output_dir / f"{name}.jpg"
        path.write_bytes(encoded.tobytes())
        print(f"{path}: {len(encoded) // 1024} KB")


if __name__ == "__main__":
    main()
