"""Alpha-blend the person over a background with OpenCV's fused blendLinear."""

from __future__ import annotations

import cv2
import numpy as np


def check_alpha(frame_bgr: np.ndarray, alpha: np.ndarray) -> None:
    """Raise ValueError unless frame_bgr is uint8 (H, W, 3) and alpha is float32 (H, W)."""
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
        raise ValueError(
            f"frame_bgr must be a uint8 (H, W, 3) array, got {frame_bgr.dtype} {frame_bgr.shape}"
        )
    if alpha.shape != frame_bgr.shape[:2] or alpha.dtype != np.float32:
        raise ValueError(
            f"alpha must be float32 {frame_bgr.shape[:2]} like the frame, "
            f"got {alpha.dtype} {alpha.shape}"
        )


class Blender:
    """Composites frames while reusing its (1 - alpha) weights buffer between calls."""

    def __init__(self) -> None:
        self._inverse_alpha: np.ndarray | None = None

    def composite(
        self,
        frame_bgr: np.ndarray,
        alpha: np.ndarray,
        background_bgr: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return frame * alpha + background * (1 - alpha) as uint8 BGR, into out if given."""
        check_alpha(frame_bgr, alpha)
        if background_bgr.shape != frame_bgr.shape or background_bgr.dtype != np.uint8:
            raise ValueError(
                f"background_bgr must be uint8 {frame_bgr.shape} like the frame, "
                f"got {background_bgr.dtype} {background_bgr.shape}"
            )
        if self._inverse_alpha is None or self._inverse_alpha.shape != alpha.shape:
            self._inverse_alpha = np.empty(alpha.shape, np.float32)
        cv2.addWeighted(alpha, -1.0, alpha, 0.0, 1.0, dst=self._inverse_alpha)
        if out is None or out.shape != frame_bgr.shape or out.dtype != np.uint8:
            out = np.empty_like(frame_bgr)
        cv2.blendLinear(frame_bgr, background_bgr, alpha, self._inverse_alpha, dst=out)
        return out


def composite(
    frame_bgr: np.ndarray,
    alpha: np.ndarray,
    background_bgr: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Return frame * alpha + background * (1 - alpha); alpha is float32 (H, W) in [0, 1]."""
    return Blender().composite(frame_bgr, alpha, background_bgr, out)
