"""Whether a frame shows anything new since the last frame that was segmented.

When nothing in the picture moved, the model would return the same mask and refinement the
same alpha: a still frame can reuse the last alpha and skip both. The test compares the frame,
as gray at model resolution, with the one whose mask is being reused (not with the previous
frame, so slow motion adds up and is caught), in blocks: sensor noise averages out over a block,
while any movement of the person changes the blocks it crosses well beyond the noise. The
noise floor is the median block, because most of any webcam picture is the still room.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

# Blocks are about 8x8 pixels of the 256x144 model input.
_BLOCKS = (32, 18)
# Still: every block's mean change below this multiple of the median block, plus a margin.
# On the demo, the still clip's largest block stays under 2.6x the median (0.49 against 0.19
# levels) while a slow sway's first frame moves it to 2 levels and more.
_NOISE_MULTIPLE = 2.0
_MARGIN_LEVELS = 0.2
# A median block above this is not noise: the whole picture changed (light, exposure).
_MAX_FLOOR_LEVELS = 2.0
# However still, the mask is renewed after this many reused frames (half a second at 30 fps).
MAX_REUSED_FRAMES = 15


class StillnessGate:
    """Says, frame by frame, whether the last segmented frame's alpha may be reused."""

    def __init__(self, max_reused_frames: int = MAX_REUSED_FRAMES) -> None:
        self._max_reused = max_reused_frames
        self._reference: np.ndarray | None = None
        self._reused = 0
        # Whether the reference itself showed nothing new against the one before it.
        self._settled = False

    def reset(self) -> None:
        """Forget the reference: the next frame is segmented."""
        self._reference = None
        self._reused = 0
        self._settled = False

    def segmented(self, small_gray: npt.ArrayLike) -> None:
        """The frame (gray, model resolution) whose mask and alpha are now the ones kept."""
        gray = _blurred(small_gray)
        reference = self._reference
        self._settled = (reference is not None and reference.shape == gray.shape
                         and _unchanged(gray, reference))
        self._reference = gray
        self._reused = 0

    def still(self, small_gray: npt.ArrayLike) -> bool:
        """True when this frame may reuse the kept alpha (and counts it as reused)."""
        reference = self._reference
        if reference is None or not self._settled or self._reused >= self._max_reused:
            return False
        gray = _blurred(small_gray)
        if gray.shape != reference.shape or not _unchanged(gray, reference):
            return False
        self._reused += 1
        return True


def _unchanged(gray: np.ndarray, reference: np.ndarray) -> bool:
    """Whether every block of `gray` is within the noise of `reference`."""
    change = cv2.resize(cv2.absdiff(gray, reference), _BLOCKS, interpolation=cv2.INTER_AREA)
    floor = float(np.median(change))
    return floor <= _MAX_FLOOR_LEVELS and change.max() <= _NOISE_MULTIPLE * floor + _MARGIN_LEVELS


def _blurred(small_gray: npt.ArrayLike) -> np.ndarray:
    gray = np.asarray(small_gray)
    if gray.ndim != 2:
        raise ValueError(f"StillnessGate: expected a 2-D gray frame, got shape {gray.shape}")
    return cv2.blur(gray.astype(np.float32), (3, 3))
