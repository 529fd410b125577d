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
    # The room is the background reached from the top and the sides (a flood fill: a tenth of
    # what labelling every region costs); the bottom edge cuts through her body, so background
    # that reaches only the bottom is still inside her. What the fill leaves is holes.
    padded = cv2.copyMakeBorder(background, 1, 0, 1, 1, cv2.BORDER_CONSTANT, value=1)
    cv2.floodFill(padded, None, (0, 0), 2, flags=4)
    holes = (padded[1:, 1:-1] == 1).astype(np.uint8)
    x, y, box_w, box_h = cv2.boundingRect(holes)
    if box_w == 0:
        return confidence
    box = (slice(y, y + box_h), slice(x, x + box_w))
    _count, labels, stats, _ = cv2.connectedComponentsWithStats(holes[box], connectivity=4)
    small = stats[:, cv2.CC_STAT_AREA] <= MAX_HOLE_SHARE * height_px * width_px
    small[0] = False  # label 0 is everything but the holes
    if not small.any():
        return confidence
    fill = small[labels]
    filled = confidence.copy()
    region = filled[box]
    region[fill] = np.maximum(region[fill], np.float32(FILLED_CONFIDENCE))
    return filled
