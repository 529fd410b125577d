"""Pinholes: specks of background the model leaves inside the person.

A white highlight on a dark jumper or a reflection on glasses can look like the wall to the
model, which then shows the room through a speck of the person that comes and goes. A person
has no holes that small (a gap under an arm is many times larger), so enclosed holes below a
small share of the mask are filled before smoothing.
"""

from __future__ import annotations

import cv2
import numpy as np

# Holes up to this share of the mask's area are filled: 36 mask pixels at 256x144, a patch of
# about 30x30 pixels at 1280x720.
MAX_HOLE_SHARE = 0.001
# A filled pixel becomes this confident: person, yet still soft enough to refine.
FILLED_CONFIDENCE = 0.9
_PERSON = 0.5


def fill_pinholes(confidence: np.ndarray) -> np.ndarray:
    """`confidence` (float32, model resolution) with its small enclosed holes filled: a new
    array, or `confidence` itself when there is none."""
    height_px, width_px = confidence.shape
    background = (confidence <= _PERSON).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(background, connectivity=4)
    if count <= 2:  # the room and at most one region: nothing enclosed to fill
        return confidence
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    right = x + stats[:, cv2.CC_STAT_WIDTH]
    # The frame's bottom edge cuts through the person (her body goes on below it), so a hole
    # there is still inside her; one at the top or the sides opens onto the room.
    enclosed = (x > 0) & (y > 0) & (right < width_px)
    small = stats[:, cv2.CC_STAT_AREA] <= MAX_HOLE_SHARE * height_px * width_px
    fill = enclosed & small
    fill[0] = False  # label 0 is the person
    if not fill.any():
        return confidence
    holes = fill[labels]
    filled = confidence.copy()
    filled[holes] = np.maximum(filled[holes], np.float32(FILLED_CONFIDENCE))
    return filled
