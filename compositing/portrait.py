"""Portrait blur: the background's blur grows with its distance from the person, as a
phone's portrait mode looks, instead of being the same everywhere.

Beside the person the background shows a light blur (`NEAR_SIGMA_FRACTION` of the frame
height), mixed into the full one by a nearness that falls from 1 at her edge to 0 at
`_FAR_FRACTION` of the frame height away. Both blurs are halo-free and the mix is made at the
blur's small working size (`compositing.blur`), so portrait costs little more than the flat
blur: mixing the sharp frame in at full size cost more than a millisecond a 720p frame.
"""

from __future__ import annotations

import cv2
import numpy as np

NEAR_SIGMA_FRACTION = 0.004  # of the frame height: the blur right beside the person
_FAR_FRACTION = 0.35  # of the frame height: from here on, the full blur


def nearness_map(alpha_small_u8: np.ndarray) -> np.ndarray:
    """float32 (h, w) in [0, 1]: how much of the light blur each background pixel of a small
    alpha shows, 1 beside the person, easing to 0 `_FAR_FRACTION` of the height away."""
    height_px = alpha_small_u8.shape[0]
    background = (alpha_small_u8 < 128).astype(np.uint8)
    if background.all():  # nobody in the picture: all of it is far
        return np.zeros(alpha_small_u8.shape, np.float32)
    distance = cv2.distanceTransform(background, cv2.DIST_L2, 3)
    nearness = np.clip(1.0 - distance / np.float32(_FAR_FRACTION * height_px), 0.0, 1.0)
    return nearness * nearness
