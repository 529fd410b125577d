"""The demo's room: a wall, a window, a shelf, a picture and a floor, drawn procedurally."""

from __future__ import annotations

import math

import cv2
import numpy as np

Bgr = tuple[int, int, int]
_WALL_COLOURS_BGR: tuple[Bgr, ...] = (
    (176, 196, 214), (204, 196, 188), (160, 182, 170), (200, 214, 222),
)
_BOOK_COLOURS_BGR: tuple[Bgr, ...] = (
    (60, 60, 150), (120, 80, 40), (50, 110, 60), (40, 140, 190), (90, 90, 90),
    (150, 130, 110), (70, 40, 100), (180, 170, 150), (40, 70, 110), (110, 150, 160),
)
_WOOD_BGR: Bgr = (75, 110, 150)
_FLOOR_BGR: Bgr = (60, 85, 115)
_TRIM_BGR: Bgr = (215, 222, 225)
# Rows shaded at a time: a 1080p frame in float32 is 25 MB, a band of it 0.8 MB.
_BAND_ROWS = 64


def _fill(canvas: np.ndarray, x0: float, y0: float, x1: float, y1: float, bgr: Bgr) -> None:
    """Fill a rectangle given in fractions of the canvas size."""
    height_px, width_px = canvas.shape[:2]
    top_left = (round(x0 * width_px), round(y0 * height_px))
    bottom_right = (round(x1 * width_px) - 1, round(y1 * height_px) - 1)
    cv2.rectangle(canvas, top_left, bottom_right, bgr, thickness=-1)


def _draw_wall(
    rng: np.random.Generator, width_px: int, height_px: int, light_x: float
) -> np.ndarray:
    """A painted wall lit from the window side and from above, with faint blotches."""
    colour = np.array(_WALL_COLOURS_BGR[rng.integers(len(_WALL_COLOURS_BGR))], np.float32)
    xs = np.linspace(0.0, 1.0, width_px, dtype=np.float32)[None, :]
    ys = np.linspace(0.0, 1.0, height_px, dtype=np.float32)[:, None]
    light = (0.72 + 0.32 * np.exp(-(((xs - light_x) / 0.5) ** 2))) * (1.06 - 0.16 * ys)
    blotches = rng.normal(0.0, 0.025, (9, 16)).astype(np.float32)
    smooth_blotches = cv2.resize(blotches, (width_px, height_px), interpolation=cv2.INTER_CUBIC)
    light = light * (1.0 + smooth_blotches)
    return light[..., None] * colour


def _draw_window(canvas: np.ndarray, rng: np.random.Generator, x0: float, x1: float) -> None:
    """A window with sky, a distant tree line, a white frame with a cross bar and a sill."""
    height_px, width_px = canvas.shape[:2]
    y0, y1 = 0.08, 0.56
    top, bottom = round(y0 * height_px), round(y1 * height_px)
    sky_top = np.array([235, 195, 150], np.float32)
    sky_bottom = np.array([248, 240, 228], np.float32)
    blend = np.linspace(0.0, 1.0, bottom - top, dtype=np.float32)[:, None]
    left, right = round(x0 * width_px), round(x1 * width_px)
    canvas[top:bottom, left:right] = ((1 - blend) * sky_top + blend * sky_bottom)[:, None, :]
    ridge = np.cumsum(rng.normal(0.0, 0.004, 24)) + 0.46
    points = [(round((x0 + (x1 - x0) * i / 23) * width_px), round(y * height_px))
              for i, y in enumerate(ridge)]
    points += [(right, bottom), (left, bottom)]
    cv2.fillPoly(canvas, [np.array(points, np.int32)], (90, 140, 110))
    bar = 0.012
    for fx0, fx1 in ((x0, x0 + bar), (x1 - bar, x1), ((x0 + x1 - bar) / 2, (x0 + x1 + bar) / 2)):
        _fill(canvas, fx0, y0, fx1, y1, _TRIM_BGR)
    for fy in (y0, (y0 + y1) / 2 - bar, y1 - bar):
        _fill(canvas, x0, fy, x1, fy + bar * 1.6, _TRIM_BGR)
    _fill(canvas, x0 - 0.015, y1, x1 + 0.015, y1 + 0.025, _TRIM_BGR)


def _draw_shelf(canvas: np.ndarray, rng: np.random.Generator, x0: float, x1: float) -> None:
    """Two wooden shelves of books, with a potted plant on the upper one."""
    for plank_y in (0.34, 0.62):
        x = x0 + 0.005
        while x < x1 - 0.03:
            book_w = float(rng.uniform(0.010, 0.022))
            book_h = float(rng.uniform(0.09, 0.15))
            colour = _BOOK_COLOURS_BGR[rng.integers(len(_BOOK_COLOURS_BGR))]
            _fill(canvas, x, plank_y - book_h, x + book_w, plank_y, colour)
            _fill(canvas, x, plank_y - book_h, x + 0.002, plank_y, (30, 30, 30))
            x += book_w + (float(rng.uniform(0.02, 0.05)) if rng.random() < 0.12 else 0.0)
        _fill(canvas, x0 - 0.01, plank_y, x1 + 0.01, plank_y + 0.02, _WOOD_BGR)
    height_px, width_px = canvas.shape[:2]
    pot_x = round((x1 - 0.035) * width_px)
    pot_top, pot_bottom = round(0.27 * height_px), round(0.34 * height_px)
    half_top, half_bottom = round(0.025 * width_px), round(0.018 * width_px)
    pot = [(pot_x - half_top, pot_top), (pot_x + half_top, pot_top),
           (pot_x + half_bottom, pot_bottom), (pot_x - half_bottom, pot_bottom)]
    cv2.fillPoly(canvas, [np.array(pot, np.int32)], (60, 90, 170))
    for _ in range(40):
        angle_rad = float(rng.uniform(-1.3, 1.3))
        reach = float(rng.uniform(0.3, 1.0))
        tip = (pot_x + round(math.sin(angle_rad) * reach * 0.05 * width_px),
               pot_top - round(math.cos(angle_rad) * reach * 0.13 * height_px))
        green = (30 + int(rng.integers(40)), 100 + int(rng.integers(70)), 50)
        cv2.line(canvas, (pot_x, pot_top), tip, green, max(1, round(0.002 * width_px)))
        axes = (max(1, round(0.006 * width_px)), max(1, round(0.016 * height_px)))
        cv2.ellipse(canvas, tip, axes, math.degrees(angle_rad), 0, 360, green, -1)


def _draw_picture(canvas: np.ndarray, rng: np.random.Generator, x0: float) -> None:
    """A framed abstract print on the wall, just beside her head."""
    y0, x1, y1 = 0.13, x0 + 0.12, 0.37
    _fill(canvas, x0, y0, x1, y1, (40, 45, 50))
    _fill(canvas, x0 + 0.008, y0 + 0.014, x1 - 0.008, y1 - 0.014, (225, 230, 232))
    colours = rng.permutation(len(_BOOK_COLOURS_BGR))[:3]
    for i, colour_index in enumerate(colours):
        top = y0 + 0.04 + i * 0.06
        _fill(canvas, x0 + 0.02 + 0.01 * i, top, x1 - 0.03 + 0.01 * i, top + 0.05,
              _BOOK_COLOURS_BGR[colour_index])


def _draw_floor(canvas: np.ndarray) -> None:
    """A skirting board and a darker wooden floor along the bottom."""
    height_px = canvas.shape[0]
    _fill(canvas, 0.0, 0.80, 1.0, 0.84, _TRIM_BGR)
    top = round(0.84 * height_px)
    shade = np.linspace(1.0, 0.7, height_px - top, dtype=np.float32)[:, None, None]
    canvas[top:] = shade * np.array(_FLOOR_BGR, np.float32)
    for fy in (0.88, 0.93, 0.99):
        _fill(canvas, 0.0, fy, 1.0, fy + 0.004, (45, 65, 90))


def draw_room(width_px: int, height_px: int, seed: int = 0) -> np.ndarray:
    """A room behind the demo person, drawn procedurally (deterministic for a seed), with
    the camera's soft focus and vignetting; uint8 BGR."""
    rng = np.random.default_rng(seed)
    window_left = bool(rng.random() < 0.5)
    window_x0 = 0.04 if window_left else 0.72
    canvas = _draw_wall(rng, width_px, height_px, light_x=window_x0 + 0.12)
    _draw_window(canvas, rng, window_x0, window_x0 + 0.23)
    _draw_shelf(canvas, rng, *((0.74, 0.97) if window_left else (0.03, 0.26)))
    _draw_picture(canvas, rng, 0.58 if window_left else 0.30)
    _draw_floor(canvas)
    sigma_px = max(0.6, 0.0022 * width_px)
    canvas = cv2.GaussianBlur(canvas, (0, 0), sigma_px)  # defocused; the sharp one is freed
    xs = np.linspace(-1.0, 1.0, width_px, dtype=np.float32)[None, :]
    ys = np.linspace(-1.0, 1.0, height_px, dtype=np.float32)[:, None]
    return shade(canvas, 1.0 - 0.22 * (xs**2 + ys**2) / 2.0, 255)


def shade(image: np.ndarray, factor: np.ndarray, high: int) -> np.ndarray:
    """`image` (H, W, 3) times `factor` (H, W) in float32, clipped to [0, high], as uint8:
    the values a whole-frame float32 product gives, made a band of rows at a time, so drawing
    a 1080p scene needs no frame-sized float temporaries."""
    shaded = np.empty(image.shape, np.uint8)
    for top in range(0, image.shape[0], _BAND_ROWS):
        rows = slice(top, top + _BAND_ROWS)
        band = image[rows].astype(np.float32) * factor[rows, :, None]
        shaded[rows] = np.clip(band, 0, high)
    return shaded
