"""Fitting a frame into a fixed output size: the virtual camera keeps one format per session,
whatever size the camera delivers.

This runs on every frame a meeting gets from a camera of another size (a 1080p camera into the
default 1280x720, say), so it makes one pass at most: reductions take `shrink_to` (at 1.5x its
bilinear step is at most 3 levels from INTER_AREA on the bookshelf background and 9 on a demo
frame, 51-56 dB, at a fifth of the cost), enlargements `scale_to`, and the bars are only added
where the picture does not reach.
"""

from __future__ import annotations

import cv2
import numpy as np

from compositing.backgrounds import cover_crop
from compositing.downscale import scale_to, shrink_to

# cover: fill the output, cropping what overhangs; letterbox: all of the picture, with bars.
FITS = ("letterbox", "cover")
_BAR_BGR = (0, 0, 0)


def letterbox_fit(image_bgr: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
    """Scale to fit inside width_px x height_px, centred on black bars; never stretches."""
    if width_px <= 0 or height_px <= 0:
        raise ValueError(f"output size must be positive, got {width_px}x{height_px}")
    source_height, source_width = image_bgr.shape[:2]
    scale = min(width_px / source_width, height_px / source_height)
    inner_w = min(width_px, max(1, round(source_width * scale)))
    inner_h = min(height_px, max(1, round(source_height * scale)))
    inner = _scaled(image_bgr, inner_w, inner_h)
    if (inner_w, inner_h) == (width_px, height_px):
        return inner
    top, left = (height_px - inner_h) // 2, (width_px - inner_w) // 2
    return cv2.copyMakeBorder(inner, top, height_px - inner_h - top, left,
                              width_px - inner_w - left, cv2.BORDER_CONSTANT, value=_BAR_BGR)


def fit_frame(image_bgr: np.ndarray, width_px: int, height_px: int, how: str) -> np.ndarray:
    """`image_bgr` at exactly width_px x height_px: itself when it has the size already."""
    if image_bgr.shape[:2] == (height_px, width_px):
        return image_bgr
    if how == "cover":
        return _scaled(cover_crop(image_bgr, width_px, height_px), width_px, height_px)
    if how == "letterbox":
        return letterbox_fit(image_bgr, width_px, height_px)
    raise ValueError(f"unknown fit {how!r}; choose one of {', '.join(FITS)}")


def _scaled(image_bgr: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
    """`image_bgr` at width_px x height_px, a new contiguous array."""
    if image_bgr.shape[:2] == (height_px, width_px):
        return np.ascontiguousarray(image_bgr)
    if image_bgr.shape[1] > width_px:
        return shrink_to(image_bgr, (width_px, height_px))  # a new array at another size
    return scale_to(image_bgr, (width_px, height_px))
