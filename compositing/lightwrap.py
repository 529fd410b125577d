"""Light wrap: let the new background's light spill a little over the person's edge."""

from __future__ import annotations

import cv2
import numpy as np

from compositing.blend import check_alpha

# Width of the wrap band as a Gaussian sigma, as a fraction of the frame height.
_BAND_SIGMA_FRACTION = 0.008
# The blurs run this many times smaller than the frame.
_DOWNSCALE = 4


class LightWrap:
    """Applies light wrap, reusing its full-frame weight buffers between calls."""

    def __init__(self) -> None:
        self._wrap_weight = np.empty((0, 0), np.float32)
        self._keep_weight = np.empty((0, 0), np.float32)

    def apply(
        self,
        composited_bgr: np.ndarray,
        alpha: np.ndarray,
        background_bgr: np.ndarray,
        strength: float,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Mix blurred background into a thin band just inside the person's edge.

        The band is (1 - blur(alpha)) * alpha: zero on the background (alpha 0) and deep inside
        the person (blurred alpha 1). out may be composited_bgr itself.
        """
        check_alpha(composited_bgr, alpha)
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"light wrap strength must be between 0 and 1, got {strength}")
        if out is None or out.shape != composited_bgr.shape or out.dtype != np.uint8:
            out = np.empty_like(composited_bgr)
        if strength == 0.0:
            np.copyto(out, composited_bgr)
            return out
        height_px, width_px = alpha.shape
        small_size = (max(1, width_px // _DOWNSCALE), max(1, height_px // _DOWNSCALE))
        sigma_small_px = max(0.5, _BAND_SIGMA_FRACTION * small_size[1])
        self._compute_weights(alpha, small_size, sigma_small_px, strength)
        background_small = cv2.resize(background_bgr, small_size, interpolation=cv2.INTER_AREA)
        cv2.GaussianBlur(background_small, (0, 0), sigma_small_px, dst=background_small)
        wrap_bgr = cv2.resize(
            background_small, (width_px, height_px), interpolation=cv2.INTER_LINEAR
        )
        cv2.blendLinear(composited_bgr, wrap_bgr, self._keep_weight, self._wrap_weight, dst=out)
        return out

    def _compute_weights(
        self, alpha: np.ndarray, small_size: tuple[int, int], sigma_small_px: float, strength: float
    ) -> None:
        """wrap_weight = strength * (1 - blur(alpha)) * alpha; keep_weight = 1 - wrap_weight."""
        if self._wrap_weight.shape != alpha.shape:
            self._wrap_weight = np.empty(alpha.shape, np.float32)
            self._keep_weight = np.empty(alpha.shape, np.float32)
        alpha_small = cv2.resize(alpha, small_size, interpolation=cv2.INTER_AREA)
        cv2.GaussianBlur(alpha_small, (0, 0), sigma_small_px, dst=alpha_small)
        outside_small = cv2.addWeighted(alpha_small, -1.0, alpha_small, 0.0, 1.0)
        # Blurring can overshoot by a float rounding error; clip so the interior stays untouched.
        cv2.threshold(outside_small, 0.0, 0.0, cv2.THRESH_TOZERO, dst=outside_small)
        cv2.resize(
            outside_small, alpha.shape[::-1], dst=self._wrap_weight, interpolation=cv2.INTER_LINEAR
        )
        cv2.multiply(self._wrap_weight, alpha, dst=self._wrap_weight, scale=strength)
        cv2.addWeighted(self._wrap_weight, -1.0, self._wrap_weight, 0.0, 1.0, dst=self._keep_weight)


def light_wrap(
    composited_bgr: np.ndarray, alpha: np.ndarray, background_bgr: np.ndarray, strength: float
) -> np.ndarray:
    """Return composited_bgr with strength (0..1) of blurred background wrapped over its edge."""
    return LightWrap().apply(composited_bgr, alpha, background_bgr, strength)
