"""Fitting a frame into a fixed output size: the virtual camera keeps one format per session,
whatever size the camera delivers."""

from __future__ import annotations

import cv2
import numpy as np

from compositing.backgrounds import cover_fit
from compositing.downscale import shrink_to

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
    inner = (
        shrink_to(image_bgr, (inner_w, inner_h)) if scale < 1.0
        else cv2.resize(image_bgr, (inner_w, inner_h), interpolation=cv2.INTER_LINEAR)
    )
    canvas = np.empty((height_px, width_px, 3), np.uint8)
    canvas[:] = _BAR_BGR
    top, left = (height_px - inner_h) // 2, (width_px - inner_w) // 2
    canvas[top:top + inner_h, left:left + inner_w] = inner
    return canvas


def fit_frame(image_bgr: np.ndarray, width_px: int, height_px: int, how: str) -> np.ndarray:
    """`image_bgr` at exactly width_px x height_px: itself when it has the size already."""
    if image_bgr.shape[:2] == (height_px, width_px):
        return image_bgr
    if how == "cover":
        return cover_fit(image_bgr, width_px, height_px)
    if how == "letterbox":
        return letterbox_fit(image_bgr, width_px, height_px)
    raise ValueError(f"unknown fit {how!r}; choose one of {', '.join(FITS)}")
