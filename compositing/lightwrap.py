"""Light wrap: let the new background's light spill a little over the person's edge."""

from __future__ import annotations

import cv2
import numpy as np

from compositing.blend import REGION_HALVINGS, ByteBlender, check_alpha, person_region
from compositing.downscale import Halver

# Width of the wrap band as a Gaussian sigma, as a fraction of the frame height.
_BAND_SIGMA_FRACTION = 0.008
# The blurs run 2**_HALVINGS times smaller than the frame.
_HALVINGS = REGION_HALVINGS


class LightWrap:
    """Applies light wrap; reuses its buffers and, for a read-only background, its blurred copy."""

    def __init__(self, bytes_blender: ByteBlender | None = None) -> None:
        """`bytes_blender` may be shared with the Blender (both run on one thread)."""
        self._alpha_halver = Halver()
        self._background_halver = Halver()
        self._wrap_weight = np.empty((0, 0), np.float32)
        self._keep_weight = np.empty((0, 0), np.float32)
        self._bytes = bytes_blender or ByteBlender()
        self._wrap_bgr = np.empty((0, 0, 3), np.uint8)
        self._wrap_source: np.ndarray | None = None

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
        if out is not composited_bgr:
            np.copyto(out, composited_bgr)
        if strength == 0.0:
            return out
        region = self._band_weights(alpha, strength)
        if region is None:
            return out
        wrap_bgr = self._blurred_background(background_bgr, alpha.shape)
        self._bytes.blend(composited_bgr, wrap_bgr, self._keep_weight, region, out)
        return out

    def _band_weights(self, alpha: np.ndarray, strength: float) -> tuple[slice, slice] | None:
        """Fill wrap/keep weights inside the person's bounding box; return that box (or None)."""
        height_px, width_px = alpha.shape
        if self._wrap_weight.shape != alpha.shape:
            self._wrap_weight = np.empty(alpha.shape, np.float32)
            self._keep_weight = np.empty(alpha.shape, np.float32)
        alpha_small = self._alpha_halver.shrink(alpha, _HALVINGS)
        region = person_region(alpha_small, alpha.shape)  # the band needs alpha > 0
        if region[0].stop <= region[0].start:
            return None
        sigma_small_px = max(0.5, _BAND_SIGMA_FRACTION * alpha_small.shape[0])
        cv2.GaussianBlur(alpha_small, (0, 0), sigma_small_px, dst=alpha_small)
        # 1 - blurred alpha, clipped: blurring can overshoot 1 by a rounding error.
        cv2.addWeighted(alpha_small, -1.0, alpha_small, 0.0, 1.0, dst=alpha_small)
        cv2.threshold(alpha_small, 0.0, 0.0, cv2.THRESH_TOZERO, dst=alpha_small)
        cv2.resize(
            alpha_small,
            (width_px, height_px),
            dst=self._wrap_weight,
            interpolation=cv2.INTER_LINEAR,
        )
        wrap_weight, keep_weight = self._wrap_weight[region], self._keep_weight[region]
        cv2.multiply(wrap_weight, alpha[region], dst=wrap_weight, scale=strength)
        cv2.addWeighted(wrap_weight, -1.0, wrap_weight, 0.0, 1.0, dst=keep_weight)
        return region

    def _blurred_background(self, background_bgr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The background, blurred; reused while the caller passes the same read-only array."""
        if background_bgr is self._wrap_source and self._wrap_bgr.shape[:2] == shape:
            return self._wrap_bgr
        background_small = self._background_halver.shrink(background_bgr, _HALVINGS)
        sigma_small_px = max(0.5, _BAND_SIGMA_FRACTION * background_small.shape[0])
        cv2.GaussianBlur(background_small, (0, 0), sigma_small_px, dst=background_small)
        if self._wrap_bgr.shape != background_bgr.shape:
            self._wrap_bgr = np.empty_like(background_bgr)
        cv2.resize(
            background_small,
            (shape[1], shape[0]),
            dst=self._wrap_bgr,
            interpolation=cv2.INTER_LINEAR,
        )
        # A read-only array (the cached image and colour plates) cannot change under us.
        self._wrap_source = None if background_bgr.flags.writeable else background_bgr
        return self._wrap_bgr


def light_wrap(
    composited_bgr: np.ndarray, alpha: np.ndarray, background_bgr: np.ndarray, strength: float
) -> np.ndarray:
    """Return composited_bgr with strength (0..1) of blurred background wrapped over its edge."""
    return LightWrap().apply(composited_bgr, alpha, background_bgr, strength)
