"""From the model's confidence to the alpha the compositor uses: smooth, refine, stabilise.

The engine's stages and `backdrop quality` both run this one chain, so the report measures
exactly what users see.
"""

from __future__ import annotations

import cv2
import numpy as np

from segmentation.refine import AlphaRefiner
from segmentation.smoothing import AlphaStabilizer, MotionAwareSmoother

# 'fast' refinement of frames wider than this works on the frame at half size and upsamples the
# alpha once: the mask is 256 px wide, so a 960 px alpha (for 1080p) still places edges within
# about a pixel of the output, at a quarter of the full-size cost. 'best' always works at full
# size. Measured on the demo: at 720p, half size would lower edge alignment from 0.55 to 0.45.
FAST_MAX_WORK_WIDTH_PX = 1280


class AlphaChain:
    """Temporal smoothing at model resolution, guided refinement, then a hold at work size."""

    def __init__(self, smoothing: float, refinement: str) -> None:
        self.smoother = MotionAwareSmoother(smoothing)
        self.refiner = AlphaRefiner(refinement)
        self.stabilizer = AlphaStabilizer()
        self._alpha_full: np.ndarray | None = None

    def configure(self, smoothing: float, refinement: str) -> None:
        self.smoother.ratio = smoothing
        self.refiner.quality = refinement

    def reset(self) -> None:
        self.smoother.reset()
        self.stabilizer.reset()

    def smooth(self, confidence: np.ndarray, small_gray: np.ndarray) -> np.ndarray:
        """The temporally smoothed confidence at model resolution."""
        return self.smoother.update(confidence, small_gray)

    def alpha(
        self,
        smoothed: np.ndarray,
        frame_bgr: np.ndarray,
        edge_softness: float,
        work_bgr: np.ndarray | None = None,
        carried: bool = False,
    ) -> np.ndarray:
        """The full-size alpha for the frame, stabilised where the picture is still.

        `work_bgr` is `work_frame(frame_bgr)` when the caller made it already. `carried` says the
        mask is an earlier frame's (no fresh hold weights apply). The returned array is reused
        by the next call; copy it to keep it.
        """
        if work_bgr is None:
            work_bgr = self.work_frame(frame_bgr)
        alpha = self.refiner.refine(smoothed, work_bgr, edge_softness)
        if self.smoother.ratio > 0.0:
            hold = None if carried else self.smoother.last_hold
            alpha = self.stabilizer.update(alpha, hold)
        if work_bgr is frame_bgr:
            return alpha
        height_px, width_px = frame_bgr.shape[:2]
        if self._alpha_full is None or self._alpha_full.shape != (height_px, width_px):
            self._alpha_full = np.empty((height_px, width_px), np.float32)
        return cv2.resize(alpha, (width_px, height_px), dst=self._alpha_full,
                          interpolation=cv2.INTER_LINEAR)

    def work_frame(self, frame_bgr: np.ndarray) -> np.ndarray:
        """The frame refinement works on: the frame itself, or for 'fast' on a wide frame a
        new half-size copy (callers may also resize it further, cheaply, for the model)."""
        height_px, width_px = frame_bgr.shape[:2]
        if self.refiner.quality != "fast" or width_px <= FAST_MAX_WORK_WIDTH_PX:
            return frame_bgr
        half = (width_px // 2, height_px // 2)
        return cv2.resize(frame_bgr, half, interpolation=cv2.INTER_AREA)
