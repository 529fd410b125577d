"""Halo-free background blur whose cost does not grow with the blur strength."""

from __future__ import annotations

import cv2
import numpy as np

from compositing.blend import check_alpha

# Gaussian sigma at strength 100, as a fraction of the frame height (so 720p and 1080p look alike).
_MAX_SIGMA_FRACTION = 0.05
# Blur at most this many times smaller than the frame, and at least this many.
_MAX_DOWNSCALE = 8
_MIN_DOWNSCALE = 2
# Sigma, in small-image pixels, we aim for: big enough that bilinear upscaling stays smooth.
_TARGET_SMALL_SIGMA = 3.0
# Weight every pixel gets, so that deep inside the person (no background nearby) the result falls
# back to a plain blur instead of dividing by zero.
_FLOOR_WEIGHT = 1e-3
_DILATE_KERNEL = np.ones((3, 3), np.uint8)


def blur_sigma_px(strength: int, height_px: int) -> float:
    """Gaussian sigma in frame pixels for a blur strength 0..100."""
    if not 0 <= strength <= 100:
        raise ValueError(f"blur strength must be between 0 and 100, got {strength}")
    return strength / 100.0 * _MAX_SIGMA_FRACTION * height_px


class BackgroundBlur:
    """Blurs the background of frames from background pixels only; keeps its small buffers."""

    def __init__(self) -> None:
        self._small_size: tuple[int, int] | None = None
        self._frame_small = np.empty((0, 0, 3), np.uint8)
        self._alpha_small = np.empty((0, 0), np.float32)

    def apply(
        self,
        frame_bgr: np.ndarray,
        alpha: np.ndarray,
        strength: int,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return the blurred background plate (uint8 BGR); strength 0 returns frame_bgr itself.

        Each output pixel is blur(frame * w) / blur(w) with w = 1 - alpha, so a bright person
        never glows onto the background around them.
        """
        check_alpha(frame_bgr, alpha)
        height_px, width_px = alpha.shape
        sigma_px = blur_sigma_px(strength, height_px)
        if strength == 0:
            return frame_bgr
        downscale = min(max(sigma_px / _TARGET_SMALL_SIGMA, _MIN_DOWNSCALE), _MAX_DOWNSCALE)
        small_size = (max(1, round(width_px / downscale)), max(1, round(height_px / downscale)))
        self._resize_inputs(frame_bgr, alpha, small_size)
        blurred_small = self._normalised_blur(sigma_px * small_size[1] / height_px)
        if out is None or out.shape != frame_bgr.shape or out.dtype != np.uint8:
            out = np.empty_like(frame_bgr)
        cv2.resize(blurred_small, (width_px, height_px), dst=out, interpolation=cv2.INTER_LINEAR)
        return out

    def _resize_inputs(
        self, frame_bgr: np.ndarray, alpha: np.ndarray, small_size: tuple[int, int]
    ) -> None:
        """Area-downscale the frame and alpha into the reused small buffers."""
        if small_size != self._small_size:
            self._small_size = small_size
            self._frame_small = np.empty((small_size[1], small_size[0], 3), np.uint8)
            self._alpha_small = np.empty((small_size[1], small_size[0]), np.float32)
        cv2.resize(frame_bgr, small_size, dst=self._frame_small, interpolation=cv2.INTER_AREA)
        cv2.resize(alpha, small_size, dst=self._alpha_small, interpolation=cv2.INTER_AREA)

    def _normalised_blur(self, sigma_small_px: float) -> np.ndarray:
        """Mask-weighted blur at small size; returns uint8 BGR at small size."""
        # Growing the person by one small pixel drops mixed edge pixels from the background.
        cv2.dilate(self._alpha_small, _DILATE_KERNEL, dst=self._alpha_small)
        alpha_small = self._alpha_small
        weight = cv2.addWeighted(alpha_small, -1.0, alpha_small, 0.0, 1.0 + _FLOOR_WEIGHT)
        weighted_frame = self._frame_small.astype(np.float32)
        weighted_frame *= weight[:, :, np.newaxis]
        blurred_frame = np.asarray(cv2.GaussianBlur(weighted_frame, (0, 0), sigma_small_px))
        blurred_weight = np.asarray(cv2.GaussianBlur(weight, (0, 0), sigma_small_px))
        np.divide(blurred_frame, blurred_weight[:, :, np.newaxis], out=blurred_frame)
        return np.clip(blurred_frame, 0.0, 255.0, out=blurred_frame).astype(np.uint8)


def blur_background(frame_bgr: np.ndarray, alpha: np.ndarray, strength: int) -> np.ndarray:
    """Return a halo-free blurred background plate for frame_bgr; strength 0..100 (0 = no blur)."""
    return BackgroundBlur().apply(frame_bgr, alpha, strength)
