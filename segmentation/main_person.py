"""Only the main person: keep the alpha's largest, most central connected region.

The choice is tracked: the region that overlaps the one kept last frame stays the main
person, so another person walking behind never takes over (the mask does not flip between
people). What touches the person (a mug, a headset) is part of the same region and stays.
Regions are found at a quarter of the frame's size, which keeps the cost well under 1 ms.
"""

from __future__ import annotations

import cv2
import numpy as np

_SCALE = 4  # regions are labelled at 1/_SCALE of the frame size
_PERSON_U8 = 128  # alpha at or above this is person for the region search


class MainPerson:
    """`keep(alpha) -> alpha` with every region but the main person's set to background."""

    def __init__(self) -> None:
        self._previous: np.ndarray | None = None  # the kept region at small size (bool)

    def reset(self) -> None:
        self._previous = None

    def keep(self, alpha: np.ndarray) -> np.ndarray:
        height_px, width_px = alpha.shape[:2]
        small_size = (max(width_px // _SCALE, 1), max(height_px // _SCALE, 1))
        small = cv2.resize(alpha, small_size, interpolation=cv2.INTER_AREA)
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(
            (small >= _PERSON_U8).astype(np.uint8), connectivity=8
        )
        if self._previous is not None and self._previous.shape != small.shape:
            self._previous = None
        if count <= 2:  # background and at most one region: nothing to remove
            self._previous = labels > 0 if count == 2 else None
            return alpha
        chosen = self._choose(labels, stats, centroids, small.shape)
        region = labels == chosen
        self._previous = region
        # Grow the region a little so its own soft edge (below the threshold) stays.
        keep_small = cv2.dilate(region.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
        keep = cv2.resize(keep_small, (width_px, height_px), interpolation=cv2.INTER_LINEAR)
        return cv2.multiply(alpha, keep, scale=1.0 / 255.0)

    def _choose(self, labels: np.ndarray, stats: np.ndarray, centroids: np.ndarray,
                shape: tuple[int, ...]) -> int:
        """The label that overlaps last frame's choice most, else the best by size and centre."""
        if self._previous is not None:
            overlap = np.bincount(labels[self._previous], minlength=len(stats))
            overlap[0] = 0
            if overlap.max() > 0:
                return int(overlap.argmax())
        height, width = shape[:2]
        areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
        off_centre = np.abs(centroids[1:, 0] - width / 2.0) / (width / 2.0)
        return 1 + int(np.argmax(areas * (1.0 - 0.5 * off_centre)))
