"""Fitting a frame into a fixed output size: the virtual camera keeps one format per session,
whatever size the camera delivers.

This runs on every frame a meeting gets from a camera of another size (a 1080p camera into the
default 1280x720, say), so it makes one pass at most: reductions take `shrink_to` (at 1.5x its
bilinear step is at most 3 levels from INTER_AREA on the bookshelf background and 9 on a demo
frame, 51-56 dB, at a fifth of the cost), enlargements `scale_to`, and the bars are only added
where the picture does not reach. A camera larger than the output is reduced by the engine as
each frame arrives, to `fitted_size`, so that the fit here is only bars or a crop.
"""

from __future__ import annotations

import cv2
import numpy as np

from compositing.backgrounds import cover_crop
from compositing.downscale import resized_to

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
    inner = resized_to(image_bgr, (inner_w, inner_h))
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
        return resized_to(cover_crop(image_bgr, width_px, height_px), (width_px, height_px))
    if how == "letterbox":
        return letterbox_fit(image_bgr, width_px, height_px)
    raise ValueError(f"unknown fit {how!r}; choose one of {', '.join(FITS)}")



def fitted_size(width_px: int, height_px: int, out_width_px: int, out_height_px: int,
                how: str) -> tuple[int, int]:
    """The even size a width_px x height_px picture is scaled to on its way into the output:
    `fit_frame` then only adds bars (letterbox) or crops what overhangs (cover). The side that
    meets the output's is the output's; the other is rounded down (letterbox) or up (cover) to
    an even number, so a picture already at this size is never scaled again."""
    if how not in FITS:
        raise ValueError(f"unknown fit {how!r}; choose one of {', '.join(FITS)}")
    across, down = out_width_px / width_px, out_height_px / height_px
    if (across <= down) == (how == "letterbox"):  # the width meets the output's
        other = height_px * across
        return out_width_px, _even(other, out_height_px, how)
    other = width_px * down
    return _even(other, out_width_px, how), out_height_px


def _even(length_px: float, output_px: int, how: str) -> int:
    """`length_px` as an even whole number, never past the output (letterbox) or short of it
    (cover)."""
    if how == "letterbox":
        return max(2, min(output_px, 2 * int(round(length_px) // 2)))
    return max(output_px, 2 * -(-int(round(length_px)) // 2))
