"""Metrics for `backdrop quality`: flicker, lag and edge alignment of an alpha sequence, and
figures against a known true alpha (IoU, boundary F, temporal error, edge colour).

Pure functions on float alpha arrays in [0, 1] (1 = person); no state, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
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
# Against the truth: alphas above this are person (as DAVIS binarises its masks).
TRUTH_THRESHOLD = 0.5
# DAVIS's boundary tolerance: contours match within this share of the image diagonal.
BOUNDARY_TOLERANCE_FRACTION = 0.008
# The temporal error and the edge colour are measured this close to the true 0.5 contour.
TRUE_EDGE_BAND_PX = 7


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


# --- against the truth ----------------------------------------------------------------------


def _binary(alpha: npt.ArrayLike, what: str, shape: tuple[int, ...] | None = None) -> BoolArray:
    """alpha > 0.5 as a 2-D boolean mask, checked against `shape` when given."""
    alpha_f = np.asarray(alpha, dtype=np.float32)
    if alpha_f.ndim != 2 or (shape is not None and alpha_f.shape != shape):
        expected = f" of shape {shape}" if shape is not None else ""
        raise ValueError(f"{what}: needs 2-D (h, w) alphas{expected}, got {alpha_f.shape}")
    return alpha_f > TRUTH_THRESHOLD


def iou(alpha: npt.ArrayLike, truth: npt.ArrayLike) -> float:
    """IoU of alpha > 0.5 with truth > 0.5: 1 for the same person area, 0 for none in common."""
    true_fg = _binary(truth, "iou")
    return _iou(_binary(alpha, "iou", true_fg.shape), true_fg)


def contour(mask: BoolArray) -> BoolArray:
    """The mask's 1-px inner contour: its pixels with a 4-neighbour outside it. The image
    border is not a contour (a person cut off by the frame edge has no edge there)."""
    mask_u8 = np.asarray(mask, dtype=np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    return (mask_u8 > cv2.erode(mask_u8, cross)).astype(bool)


def _dilate(mask: BoolArray, radius_px: int) -> BoolArray:
    """`mask` grown by a disc of `radius_px`."""
    size = 2 * radius_px + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.dilate(mask.astype(np.uint8), disc).astype(bool)


def boundary_tolerance_px(height_px: int, width_px: int) -> int:
    """DAVIS's match radius: 0.8% of the image diagonal, rounded up (12 px at 720p)."""
    return math.ceil(BOUNDARY_TOLERANCE_FRACTION * math.hypot(height_px, width_px))


@dataclass(frozen=True)
class BoundaryScore:
    """DAVIS's boundary measure: how much of the alpha's contour lies near the true one
    (precision), how much of the true contour the alpha's reaches (recall), and their F."""

    precision: float
    recall: float

    @property
    def f(self) -> float:
        total = self.precision + self.recall
        return 2.0 * self.precision * self.recall / total if total > 0 else 0.0


def boundary(alpha: npt.ArrayLike, truth: npt.ArrayLike) -> BoundaryScore:
    """The DAVIS boundary F-measure of alpha > 0.5 against truth > 0.5: 1-px contours of both,
    matched within `boundary_tolerance_px` of each other."""
    true_fg = _binary(truth, "boundary")
    true_edge = contour(true_fg)
    edge = contour(_binary(alpha, "boundary", true_fg.shape))
    edge_px, true_edge_px = np.count_nonzero(edge), np.count_nonzero(true_edge)
    if edge_px == 0 or true_edge_px == 0:
        # As DAVIS: an empty side is vacuously precise (or complete) and matches nothing.
        return BoundaryScore(precision=float(edge_px == 0), recall=float(true_edge_px == 0))
    radius_px = boundary_tolerance_px(*true_fg.shape)
    box = bounding_box(edge | true_edge, radius_px)  # the dilations need only this much
    edge, true_edge = edge[box], true_edge[box]
    precision = np.count_nonzero(edge & _dilate(true_edge, radius_px)) / edge_px
    recall = np.count_nonzero(true_edge & _dilate(edge, radius_px)) / true_edge_px
    return BoundaryScore(precision, recall)


def bounding_box(mask: BoolArray, margin_px: int = 0) -> tuple[slice, slice]:
    """The rows and columns holding every True pixel of `mask`, widened by `margin_px` (within
    the image); an empty mask gives an empty box."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return slice(0, 0), slice(0, 0)
    height_px, width_px = mask.shape
    return (slice(max(0, rows[0] - margin_px), min(height_px, rows[-1] + 1 + margin_px)),
            slice(max(0, cols[0] - margin_px), min(width_px, cols[-1] + 1 + margin_px)))


def true_edge_band(truth: npt.ArrayLike, band_px: int = TRUE_EDGE_BAND_PX) -> BoolArray:
    """Pixels within `band_px` of the true alpha's 0.5 contour: where edges go wrong."""
    edge = contour(_binary(truth, "true_edge_band"))
    box = bounding_box(edge, band_px)
    band = np.zeros_like(edge)
    band[box] = _dilate(edge[box], band_px)
    return band


def temporal_error(
    alphas: tuple[npt.ArrayLike, npt.ArrayLike],
    truths: tuple[npt.ArrayLike, npt.ArrayLike],
    band: BoolArray,
) -> float:
    """RMS of (a_t - a_{t-1}) - (g_t - g_{t-1}) inside `band`, times 100, for one frame pair:
    the change the true motion explains cancels, so what is left is flicker, lag and jitter.

    `alphas` and `truths` are (previous, current); an empty band has no error: 0.0.
    """
    previous, current = (np.asarray(alpha, dtype=np.float32) for alpha in alphas)
    true_previous, true_current = (np.asarray(truth, dtype=np.float32) for truth in truths)
    shapes = {previous.shape, current.shape, true_previous.shape, true_current.shape, band.shape}
    if len(shapes) != 1:
        raise ValueError(f"temporal_error: alphas, truths and band differ in shape: {shapes}")
    if not band.any():
        return 0.0
    error = (current[band] - previous[band]) - (true_current[band] - true_previous[band])
    return float(np.sqrt(np.mean(error * error)) * 100.0)


def ideal_composite(
    person_premultiplied_bgr: npt.ArrayLike, truth: npt.ArrayLike, background_bgr: ByteArray
) -> FloatArray:
    """The composite a perfect matte would give: the person's own colours times the true alpha
    (premultiplied), plus the new background times 1 - alpha; float32 BGR in 8-bit levels."""
    person = np.asarray(person_premultiplied_bgr, dtype=np.float32)
    weight = 1.0 - np.asarray(truth, dtype=np.float32)
    if person.shape != background_bgr.shape or weight.shape != person.shape[:-1]:
        raise ValueError(
            f"ideal_composite: person {person.shape}, truth {weight.shape} and background "
            f"{background_bgr.shape} do not match"
        )
    return person + background_bgr.astype(np.float32) * weight[..., None]


def edge_colour_error(output_bgr: ByteArray, ideal_bgr: npt.ArrayLike, band: BoolArray) -> float:
    """Mean absolute difference of the output from the ideal composite inside `band`, over
    all three channels, in 8-bit levels; an empty band has no error: 0.0."""
    ideal = np.asarray(ideal_bgr, dtype=np.float32)
    if output_bgr.shape != ideal.shape or band.shape != ideal.shape[:-1]:
        raise ValueError(
            f"edge_colour_error: output {output_bgr.shape}, ideal {ideal.shape} and band "
            f"{band.shape} do not match"
        )
    if not band.any():
        return 0.0
    return float(np.abs(output_bgr[band].astype(np.float32) - ideal[band]).mean())
