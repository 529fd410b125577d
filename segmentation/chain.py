"""From the model's confidence to the alpha the compositor uses: smooth, refine, stabilise.

The engine's stages and `backdrop quality` both run this one chain, so the report measures
exactly what users see.
"""

from __future__ import annotations

import numpy as np

from segmentation.refine import AlphaRefiner
from segmentation.smoothing import AlphaStabilizer, MotionAwareSmoother


class AlphaChain:
    """Temporal smoothing at model resolution, guided refinement, then a full-size hold."""

    def __init__(self, smoothing: float, refinement: str) -> None:
        self.smoother = MotionAwareSmoother(smoothing)
        self.refiner = AlphaRefiner(refinement)
        self.stabilizer = AlphaStabilizer()

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
        self, smoothed: np.ndarray, frame_bgr: np.ndarray, edge_softness: float
    ) -> np.ndarray:
        """The full-size alpha for the frame, stabilised where the picture is still."""
        alpha = self.refiner.refine(smoothed, frame_bgr, edge_softness)
        if self.smoother.ratio == 0.0:
            return alpha
        return self.stabilizer.update(alpha, self.smoother.last_hold)
