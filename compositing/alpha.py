"""Turn the model's low-resolution person confidence into a full-resolution alpha matte."""

from __future__ import annotations

import cv2
import numpy as np

# Half the distance between the two smoothstep thresholds at edge_softness 0 and 1.
_HALF_WIDTH_HARD = 0.05
_HALF_WIDTH_SOFT = 0.45


def smoothstep_thresholds(edge_softness: float) -> tuple[float, float]:
    """Return (low, high) confidence thresholds centred on 0.5; softer edges spread them apart."""
    if not 0.0 <= edge_softness <= 1.0:
        raise ValueError(f"edge_softness must be between 0 and 1, got {edge_softness}")
    half_width = _HALF_WIDTH_HARD + (_HALF_WIDTH_SOFT - _HALF_WIDTH_HARD) * edge_softness
    return 0.5 - half_width, 0.5 + half_width


def soft_alpha(
    mask_lowres: np.ndarray,
    width_px: int,
    height_px: int,
    edge_softness: float,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Upsample a float32 confidence mask to (height_px, width_px) and soften its edge.

    The linear part of the threshold is applied at low resolution (resize is linear, so this is
    exact); clipping and the smoothstep run after upsampling so the edge stays sub-pixel accurate.
    """
    if mask_lowres.ndim != 2:
        raise ValueError(f"mask_lowres must be a 2-D (h, w) array, got shape {mask_lowres.shape}")
    if width_px <= 0 or height_px <= 0:
        raise ValueError(f"output size must be positive, got {width_px}x{height_px}")
    low, high = smoothstep_thresholds(edge_softness)
    scale = 1.0 / (high - low)
    ramp_lowres = mask_lowres.astype(np.float32, copy=False) * np.float32(scale)
    ramp_lowres -= np.float32(low * scale)
    if out is None or out.shape != (height_px, width_px) or out.dtype != np.float32:
        out = np.empty((height_px, width_px), np.float32)
    cv2.resize(ramp_lowres, (width_px, height_px), dst=out, interpolation=cv2.INTER_LINEAR)
    _clip_and_smoothstep(out)
    return out


def _clip_and_smoothstep(ramp: np.ndarray) -> None:
    """In place: clip to [0, 1], then apply t*t*(3 - 2t) with OpenCV's vectorised arithmetic."""
    cv2.threshold(ramp, 1.0, 1.0, cv2.THRESH_TRUNC, dst=ramp)
    cv2.threshold(ramp, 0.0, 0.0, cv2.THRESH_TOZERO, dst=ramp)
    three_minus_two_t = cv2.addWeighted(ramp, -2.0, ramp, 0.0, 3.0)
    cv2.multiply(ramp, ramp, dst=ramp)
    cv2.multiply(ramp, three_minus_two_t, dst=ramp)


def alpha_to_u8(alpha: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Convert a float32 alpha in [0, 1] to uint8 0..255 (rounded; values outside [0, 1]
    saturate to 0 and 255)."""
    if out is None or out.shape != alpha.shape or out.dtype != np.uint8:
        out = np.empty(alpha.shape, np.uint8)
    cv2.addWeighted(alpha, 255.0, alpha, 0.0, 0.0, dst=out, dtype=cv2.CV_8U)
    return out


def alpha_from_u8(alpha_u8: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Convert a uint8 alpha 0..255 to float32 in [0, 1]."""
    if out is None or out.shape != alpha_u8.shape or out.dtype != np.float32:
        out = np.empty(alpha_u8.shape, np.float32)
    np.multiply(alpha_u8, np.float32(1.0 / 255.0), out=out, dtype=np.float32)
    return out
