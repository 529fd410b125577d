"""Metrics for `backdrop quality`: flicker, lag and edge alignment of an alpha sequence.

Pure functions on float alpha arrays in [0, 1] (1 = person); no state, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import cv2
import numpy as np
import numpy.typing as npt

# float32 arrays; plain ndarray because OpenCV's stubs return untyped arrays.
FloatArray: TypeAlias = np.ndarray
BoolArray: TypeAlias = np.ndarray  # bool
ByteArray: TypeAlias = np.ndarray  # uint8

EDGE_BAND_LOW = 0.05
EDGE_BAND_HIGH = 0.95
EDGE_BAND_DILATION_PX = 8
LAG_IOU_THRESHOLD = 0.5


def _stack(alphas: Sequence[npt.ArrayLike], what: str, min_frames: int) -> FloatArray:
    """Alphas as one float32 (n, h, w) array, with a message naming the problem if they are not."""
    frames = [np.asarray(alpha, dtype=np.float32) for alpha in alphas]
    if len(frames) < min_frames:
        raise ValueError(f"{what}: needs at least {min_frames} frames, got {len(frames)}")
    shapes = {frame.shape for frame in frames}
    if len(shapes) != 1 or frames[0].ndim != 2:
        raise ValueError(
            f"{what}: every alpha must be a 2-D (h, w) array of the same size, got shapes "
            f"{sorted(shapes)}"
        )
    return np.stack(frames)


def edge_band(
    alphas: Sequence[npt.ArrayLike], dilation_px: int = EDGE_BAND_DILATION_PX
) -> BoolArray:
    """Pixels whose mean alpha lies in [0.05, 0.95], dilated by `dilation_px`: where edges live.

    Flicker is measured here because the solid inside and outside of the person never flicker.
    """
    mean_alpha = _stack(alphas, "edge_band", 1).mean(axis=0)
    band = ((mean_alpha >= EDGE_BAND_LOW) & (mean_alpha <= EDGE_BAND_HIGH)).astype(np.uint8)
    if dilation_px > 0:
        size = 2 * dilation_px + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        band = cv2.dilate(band, kernel)
    return band.astype(bool)


def flicker(alphas: Sequence[npt.ArrayLike], band: BoolArray | None = None) -> float:
    """Mean over frames of the RMS frame-to-frame alpha change inside the edge band, times 100.

    `band` defaults to `edge_band(alphas)`; pass one band to compare several methods on the same
    pixels. An empty band (no edge anywhere) has no flicker: 0.0.
    """
    stacked = _stack(alphas, "flicker", 2)
    if band is None:
        band = edge_band(list(stacked))
    if band.shape != stacked.shape[1:]:
        raise ValueError(
            f"flicker: band shape {band.shape} does not match alpha shape {stacked.shape[1:]}"
        )
    if not band.any():
        return 0.0
    changes = np.diff(stacked[:, band], axis=0)
    rms_per_frame = np.sqrt(np.mean(changes * changes, axis=1))
    return float(rms_per_frame.mean() * 100.0)


def _iou(a: BoolArray, b: BoolArray) -> float:
    """Intersection over union of two boolean masks; two empty masks agree perfectly."""
    union = np.count_nonzero(a | b)
    if union == 0:
        return 1.0
    return np.count_nonzero(a & b) / union


def lag(
    output_alphas: Sequence[npt.ArrayLike],
    raw_masks: Sequence[npt.ArrayLike],
    max_offset: int = 5,
) -> int:
    """Frame offset k in 0..max_offset at which the output best matches the raw mask k frames
    earlier (mean IoU at 0.5). Ties go to the smaller offset, so a static clip reports 0.

    Raw masks at model resolution are resized to the output size.
    """
    outputs = _stack(output_alphas, "lag", max_offset + 2)
    raws = _stack(raw_masks, "lag", max_offset + 2)
    if len(outputs) != len(raws):
        raise ValueError(f"lag: {len(outputs)} output alphas but {len(raws)} raw masks")
    height, width = outputs.shape[1:]
    output_fg = outputs >= LAG_IOU_THRESHOLD
    raw_fg = (
        np.stack([cv2.resize(raw, (width, height), interpolation=cv2.INTER_LINEAR) for raw in raws])
        >= LAG_IOU_THRESHOLD
    )
    frames = range(max_offset, len(outputs))
    best_offset, best_iou = 0, -1.0
    for offset in range(max_offset + 1):
        mean_iou = float(np.mean([_iou(output_fg[t], raw_fg[t - offset]) for t in frames]))
        if mean_iou > best_iou + 1e-9:
            best_offset, best_iou = offset, mean_iou
    return best_offset


def edge_alignment(alpha: npt.ArrayLike, frame_bgr: ByteArray) -> float:
    """Mean image-gradient magnitude along the alpha's 0.5 contour, over the frame's 99th
    percentile gradient: near 1 when the matte edge sits on a real image edge, near 0 when not.

    Returns 0.0 when the alpha has no contour or the frame has no gradient.
    """
    alpha_f = np.asarray(alpha, dtype=np.float32)
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or alpha_f.shape != frame_bgr.shape[:2]:
        raise ValueError(
            f"edge_alignment: needs an (H, W) alpha and an (H, W, 3) BGR frame of the same size, "
            f"got alpha {alpha_f.shape} and frame {frame_bgr.shape}"
        )
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    magnitude = cv2.magnitude(
        cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    )
    scale = float(np.percentile(magnitude, 99))
    foreground = (alpha_f >= 0.5).astype(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    contour = cv2.morphologyEx(foreground, cv2.MORPH_GRADIENT, cross).astype(bool)
    if scale <= 0.0 or not contour.any():
        return 0.0
    return float(magnitude[contour].mean() / scale)
