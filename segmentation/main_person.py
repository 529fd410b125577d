"""Only the main person: keep the alpha's largest, most central connected region.

The choice is tracked: the region that overlaps the one kept last frame stays the main
person, so another person walking behind never takes over (the mask does not flip between
people). When the main person leaves, their last region is remembered: someone smaller left in
the picture stays background, and whoever comes back at least half the main person's size is
the main person again (a colleague behind you is not adopted while you fetch a coffee, and so
cannot keep you out of your own picture when you return). What touches the person (a mug, a
headset) is part of the same region and stays. Regions are found at a quarter of the frame's
size, which keeps the cost well under 1 ms.
"""

from __future__ import annotations

import cv2
import numpy as np

from compositing.downscale import scale_to, shrink_to

_SCALE = 4  # regions are labelled at 1/_SCALE of the frame size
_PERSON_U8 = 128  # alpha at or above this is person for the region search
_RETURN_SHARE = 0.5  # of the main person's last area: a region this large is them, back


class MainPerson:
    """`keep(alpha) -> alpha` with every region but the main person's set to background."""

    def __init__(self) -> None:
        self._previous: np.ndarray | None = None  # the kept region at small size (bool)
        self._area = 0  # its area, in small pixels

    def reset(self) -> None:
        self._previous = None
        self._area = 0

    def keep(self, alpha: np.ndarray) -> np.ndarray:
        height_px, width_px = alpha.shape[:2]
        small = shrink_to(alpha, (max(width_px // _SCALE, 1), max(height_px // _SCALE, 1)))
        person = cv2.threshold(small, _PERSON_U8 - 1, 1, cv2.THRESH_BINARY)[1]
        count, labels = cv2.connectedComponents(person, connectivity=8)
        if self._previous is not None and self._previous.shape != small.shape:
            self.reset()
        if count == 1:  # nobody: the main person's last region is kept for their return
            return alpha
        if count == 2:  # one region: nothing to remove, if it is the main person
            region, area = person.view(bool), cv2.countNonZero(person)
            if not self._is_them(region, area):
                return np.zeros_like(alpha)
            self._previous, self._area = region, area
            return alpha
        # Areas by counting, centroids only when there is a choice to make: OpenCV's own
        # statistics cost several times the labelling.
        areas = np.bincount(labels.ravel(), minlength=count)
        chosen = self._choose(labels, areas, small.shape)
        if chosen is None:  # the main person is away and nobody here is them
            return np.zeros_like(alpha)
        region = labels == chosen
        self._previous, self._area = region, int(areas[chosen])
        # Grow the region a little so its own soft edge (below the threshold) stays.
        keep_small = cv2.dilate(region.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
        keep = scale_to(keep_small, (width_px, height_px))
        return cv2.multiply(alpha, keep, scale=1.0 / 255.0)

    def _is_them(self, region: np.ndarray, area: int) -> bool:
        """Whether the only region in the picture is the main person: it overlaps their last
        region, or is about their size (or nobody was chosen yet)."""
        if self._previous is None:
            return True
        return bool(np.any(region & self._previous)) or area >= _RETURN_SHARE * self._area

    def _choose(self, labels: np.ndarray, areas: np.ndarray,
                shape: tuple[int, ...]) -> int | None:
        """The label that overlaps last frame's choice most, else the best by size and centre
        (while the main person is away, only among regions of about their size; None if none
        is)."""
        candidates = np.ones(len(areas), bool)
        candidates[0] = False
        if self._previous is not None:
            overlap = np.bincount(labels[self._previous], minlength=len(areas))
            overlap[0] = 0
            if overlap.max() > 0:
                return int(overlap.argmax())
            candidates &= areas >= _RETURN_SHARE * self._area
            if not candidates.any():
                return None
        height, width = shape[:2]
        columns = np.broadcast_to(np.arange(width, dtype=np.float64), labels.shape)
        centre_x = np.bincount(labels.ravel(), columns.ravel(), len(areas)) / np.maximum(areas, 1)
        off_centre = np.abs(centre_x - width / 2.0) / (width / 2.0)
        score = np.where(candidates, areas * (1.0 - 0.5 * off_centre), -1.0)
        return int(np.argmax(score))

