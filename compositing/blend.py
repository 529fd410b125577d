"""Alpha-blend the person over a background with OpenCV's fused blendLinear."""

from __future__ import annotations

import cv2
import numpy as np

from compositing.downscale import Halver

# person_region() looks at the alpha this many times halved.
REGION_HALVINGS = 2


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
    """Composites frames; blends only the person's bounding box and reuses its buffers."""

    def __init__(self) -> None:
        self._inverse_alpha = np.empty((0, 0), np.float32)
        self._alpha_halver = Halver()

    def composite(
        self,
        frame_bgr: np.ndarray,
        alpha: np.ndarray,
        background_bgr: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return frame * alpha + background * (1 - alpha) as uint8 BGR, into out if given.

        out may be frame_bgr or background_bgr itself.
        """
        check_alpha(frame_bgr, alpha)
        if background_bgr.shape != frame_bgr.shape or background_bgr.dtype != np.uint8:
            raise ValueError(
                f"background_bgr must be uint8 {frame_bgr.shape} like the frame, "
                f"got {background_bgr.dtype} {background_bgr.shape}"
            )
        if out is None or out.shape != frame_bgr.shape or out.dtype != np.uint8:
            out = np.empty_like(frame_bgr)
        alpha_small = self._alpha_halver.shrink(alpha, REGION_HALVINGS)
        rows, cols = person_region(alpha_small, alpha.shape)
        # Outside the person's box alpha is 0: the output there is the background.
        for strip in _strips_around(rows, cols):
            if out is not background_bgr:
                out[strip] = background_bgr[strip]
        if rows.stop <= rows.start or cols.stop <= cols.start:
            return out
        if self._inverse_alpha.shape != alpha.shape:
            self._inverse_alpha = np.empty(alpha.shape, np.float32)
        region = (rows, cols)
        inverse_alpha = self._inverse_alpha[region]
        cv2.addWeighted(alpha[region], -1.0, alpha[region], 0.0, 1.0, dst=inverse_alpha)
        cv2.blendLinear(
            frame_bgr[region], background_bgr[region], alpha[region], inverse_alpha, dst=out[region]
        )
        return out


def person_region(alpha_small: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows and columns of a box holding every pixel with alpha > 0 (empty if none).

    alpha_small is the alpha area-downscaled (any alpha > 0 stays > 0); shape is the frame's.
    """
    height_px, width_px = shape[:2]
    person_rows = np.flatnonzero(alpha_small.max(axis=1) > 0.0)
    if person_rows.size == 0:
        return slice(0, 0), slice(0, 0)
    person_cols = np.flatnonzero(alpha_small.max(axis=0) > 0.0)
    rows = _span(person_rows, height_px / alpha_small.shape[0], height_px)
    cols = _span(person_cols, width_px / alpha_small.shape[1], width_px)
    return rows, cols


def _span(small_indices: np.ndarray, scale: float, limit_px: int) -> slice:
    """Full-size pixels covered by small pixels first..last, with one small pixel of margin."""
    start_px = max(0, int((small_indices[0] - 1) * scale))
    stop_px = min(limit_px, int(np.ceil((small_indices[-1] + 2) * scale)))
    return slice(start_px, stop_px)


def _strips_around(rows: slice, cols: slice) -> list[tuple[slice, slice]]:
    """The parts of the frame outside the box rows x cols (an empty box leaves the whole frame)."""
    if rows.stop <= rows.start or cols.stop <= cols.start:
        return [(slice(None), slice(None))]
    return [
        (slice(None, rows.start), slice(None)),
        (slice(rows.stop, None), slice(None)),
        (rows, slice(None, cols.start)),
        (rows, slice(cols.stop, None)),
    ]


def composite(
    frame_bgr: np.ndarray,
    alpha: np.ndarray,
    background_bgr: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Return frame * alpha + background * (1 - alpha); alpha is float32 (H, W) in [0, 1]."""
    return Blender().composite(frame_bgr, alpha, background_bgr, out)
