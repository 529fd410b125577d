"""Portrait blur: the background's blur grows with its distance from the person, as a
phone's portrait mode looks, instead of being the same everywhere.

The flat blurred plate is mixed with the sharp frame by a weight that falls from
`_NEAR_SHARPNESS` at the person's edge to 0 at `_FAR_FRACTION` of the frame height away. The
distance is measured at the blur's small working size (the alpha brought there by repeated
halving, OpenCV's fast path). That mix and the person's own blend are one: the frame shows with
weight 1 - (1 - alpha)(1 - sharpness) over the blur, so portrait costs no extra blend.
"""

from __future__ import annotations

import cv2
import numpy as np

from compositing.blend import Blender, alpha_bytes
from compositing.downscale import shrink_to

_SMALL_HEIGHT_PX = 90  # the distance map's height
_NEAR_SHARPNESS = 0.8  # how much of the sharp frame shows right beside the person
_FAR_FRACTION = 0.35  # of the frame height: from here on, the full blur


class PortraitDepth:
    """`apply(frame_bgr, alpha, blurred_bgr) -> output`: the person over a blur that is
    sharper near her, in one blend (into `blurred_bgr`)."""

    def __init__(self, blender: Blender | None = None) -> None:
        self._blender = blender or Blender()

    def apply(self, frame_bgr: np.ndarray, alpha: np.ndarray, blurred_bgr: np.ndarray,
              region: tuple[slice, slice] | None = None) -> np.ndarray:
        """With `region` only that part of `blurred_bgr` becomes the output (the rest stays
        as it was); the depth is still measured over the whole picture."""
        whole = (slice(None), slice(None))
        rows, cols = region or whole
        self._blender.composite(frame_bgr[rows, cols],
                                frame_weight(alpha_bytes(alpha), region),
                                blurred_bgr[rows, cols], out=blurred_bgr[rows, cols])
        return blurred_bgr


def frame_weight(alpha_u8: np.ndarray,
                 region: tuple[slice, slice] | None = None) -> np.ndarray:
    """uint8 (H, W), or the region's shape: how much of the sharp frame the output shows,
    her alpha and the background's sharpness together: 255 - (255 - alpha)(255 - sharpness)
    / 255."""
    rows, cols = region or (slice(None), slice(None))
    room = cv2.bitwise_not(alpha_u8[rows, cols])
    blur_share = cv2.bitwise_not(sharpness_map(alpha_u8)[rows, cols])
    cv2.multiply(room, blur_share, dst=room, scale=1.0 / 255.0)
    return cv2.bitwise_not(room, dst=room)


def sharpness_map(alpha_u8: np.ndarray) -> np.ndarray:
    """uint8 (H, W): how much of the sharp frame each background pixel keeps (255 = all)."""
    height_px, width_px = alpha_u8.shape
    small_w = max(round(width_px * _SMALL_HEIGHT_PX / height_px), 1)
    small = shrink_to(alpha_u8, (small_w, _SMALL_HEIGHT_PX))
    background = (small < 128).astype(np.uint8)
    if not background.all():
        distance = cv2.distanceTransform(background, cv2.DIST_L2, 3)
    else:  # nobody in the picture: all of it is far
        distance = np.full(small.shape, float(_SMALL_HEIGHT_PX), np.float32)
    nearness = np.clip(1.0 - distance / (_FAR_FRACTION * _SMALL_HEIGHT_PX), 0.0, 1.0)
    small_u8 = np.round(255.0 * _NEAR_SHARPNESS * nearness * nearness).astype(np.uint8)
    return cv2.resize(small_u8, (width_px, height_px), interpolation=cv2.INTER_LINEAR)
