"""Halo-free background blur whose cost does not grow with the blur strength."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from compositing.blend import alpha_bytes, check_alpha
from compositing.downscale import Halver, upscale
from compositing.portrait import NEAR_SIGMA_FRACTION, nearness_map

# flat: the same blur everywhere; portrait: more blur further from the person.
BLUR_STYLES = ("flat", "portrait")

# Gaussian sigma at strength 1 and 100, as fractions of the frame height (so 720p and 1080p look
# alike). Strength 1 is already a light blur: sigma stays >= ~1 px at the 4x smaller working size,
# where bilinear upscaling shows no blocks.
_MIN_SIGMA_FRACTION = 0.005
_MAX_SIGMA_FRACTION = 0.05
# Work 8x smaller once the blur is wide enough to hide it (sigma >= 1.5 small px), else 4x.
_HALVINGS_WIDE = 3
_HALVINGS_NARROW = 2
_WIDE_MIN_SMALL_SIGMA = 1.5
# Weight every pixel gets, so that deep inside the person (no background nearby) the result falls
# back to a plain blur instead of dividing by zero.
_FLOOR_WEIGHT = 1e-3
_DILATE_KERNEL = np.ones((3, 3), np.uint8)
# The portrait's light blur, in small pixels at least: the bilinear upscale shows no blocks.
_NEAR_MIN_SMALL_SIGMA = 0.6


def blur_sigma_px(strength: int, height_px: int) -> float:
    """Gaussian sigma in frame pixels for a blur strength 0..100 (0 = no blur)."""
    if not 0 <= strength <= 100:
        raise ValueError(f"blur strength must be between 0 and 100, got {strength}")
    if strength == 0:
        return 0.0
    fraction = _MIN_SIGMA_FRACTION + (_MAX_SIGMA_FRACTION - _MIN_SIGMA_FRACTION) * strength / 100
    return fraction * height_px


class WeightedBlur:
    """blur(frame * w) / blur(w) with w = 1 - alpha, at one small size, into kept buffers."""

    def __init__(self) -> None:
        self._weight = np.empty((0, 0), np.float32)
        self._weight_bgr = np.empty((0, 0, 3), np.float32)
        self._weighted_bgr = np.empty((0, 0, 3), np.float32)

    def blur(self, frame_small: np.ndarray, alpha_small: np.ndarray,
             sigma_small_px: float) -> np.ndarray:
        """The float32 BGR blur of the background only (this object's buffer); `alpha_small`
        (uint8) is overwritten."""
        if self._weight.shape != alpha_small.shape:
            self._weight = np.empty(alpha_small.shape, np.float32)
            self._weight_bgr = np.empty(frame_small.shape, np.float32)
            self._weighted_bgr = np.empty(frame_small.shape, np.float32)
        weight, weight_bgr, weighted_bgr = self._weight, self._weight_bgr, self._weighted_bgr
        # Growing the person by one small pixel drops mixed edge pixels from the background.
        cv2.dilate(alpha_small, _DILATE_KERNEL, dst=alpha_small)
        cv2.addWeighted(alpha_small, -1.0 / 255.0, alpha_small, 0.0, 1.0 + _FLOOR_WEIGHT,
                        dst=weight, dtype=cv2.CV_32F)
        cv2.merge((weight, weight, weight), dst=weight_bgr)
        cv2.multiply(frame_small, weight_bgr, dst=weighted_bgr, dtype=cv2.CV_32F)
        cv2.GaussianBlur(weighted_bgr, (0, 0), sigma_small_px, dst=weighted_bgr)
        cv2.GaussianBlur(weight, (0, 0), sigma_small_px, dst=weight)
        cv2.merge((weight, weight, weight), dst=weight_bgr)
        return cv2.divide(weighted_bgr, weight_bgr, dst=weighted_bgr)


class BackgroundBlur:
    """Blurs the background of frames from background pixels only; reuses its small buffers.

    The portrait style mixes, at the small size, a light blur beside the person with the full
    blur further away (`compositing.portrait`), so it costs what the flat blur does and a few
    passes at the small size.
    """

    def __init__(self) -> None:
        self._frame_halver = Halver()
        self._alpha_halver = Halver()
        self._far = WeightedBlur()
        self._near = WeightedBlur()
        self._nearness_bgr = np.empty((0, 0, 3), np.float32)
        self._blurred_bgr = np.empty((0, 0, 3), np.uint8)

    def apply(
        self,
        frame_bgr: np.ndarray,
        alpha: np.ndarray,
        strength: int,
        out: np.ndarray | None = None,
        region: tuple[slice, slice] | None = None,
        style: str = "flat",
        frame_halves: Sequence[np.ndarray] = (),
    ) -> np.ndarray:
        """Return the blurred background plate (uint8 BGR); strength 0 returns frame_bgr itself.

        `frame_halves` is the frame already halved once, twice, ... by 2x area averaging, if
        the caller has it (see `Halver.shrink`): it saves halving the frame again.

        Each output pixel is blur(frame * w) / blur(w) with w = 1 - alpha, so a bright person
        never glows onto the background around them. With `region` (rows, columns) only that
        part of the plate is made, exactly as in the whole one; the rest is left undefined.
        """
        check_alpha(frame_bgr, alpha)
        if style not in BLUR_STYLES:
            raise ValueError(f"unknown blur style {style!r}; choose one of "
                             + ", ".join(BLUR_STYLES))
        height_px, width_px = alpha.shape
        sigma_px = blur_sigma_px(strength, height_px)
        if strength == 0:
            return frame_bgr
        wide = sigma_px / 2**_HALVINGS_WIDE >= _WIDE_MIN_SMALL_SIGMA
        halvings = _HALVINGS_WIDE if wide else _HALVINGS_NARROW
        frame_small = self._frame_halver.shrink(frame_bgr, halvings, frame_halves)
        alpha_small = self._alpha_halver.shrink(alpha_bytes(alpha), halvings)
        # Portrait: before the far blur grows the person, her copy for the near one.
        near_alpha = alpha_small.copy() if style == "portrait" else None
        blurred = self._far.blur(frame_small, alpha_small, sigma_px * alpha_small.shape[0]
                                 / height_px)
        if near_alpha is not None:
            blurred = self._with_depth(blurred, frame_small, near_alpha)
        if self._blurred_bgr.shape != blurred.shape:
            self._blurred_bgr = np.empty(blurred.shape, np.uint8)
        cv2.convertScaleAbs(blurred, dst=self._blurred_bgr)  # rounds, saturates to 0..255
        if out is None or out.shape != frame_bgr.shape or out.dtype != np.uint8:
            out = np.empty_like(frame_bgr)
        scale = 2**halvings
        if self._blurred_bgr.shape[:2] != (height_px // scale, width_px // scale) \
                or height_px % scale or width_px % scale:
            cv2.resize(
                self._blurred_bgr, (width_px, height_px), dst=out, interpolation=cv2.INTER_LINEAR
            )
        else:
            upscale(self._blurred_bgr, scale, out, region)
        return out

    def _with_depth(self, far: np.ndarray, frame_small: np.ndarray,
                    alpha_small: np.ndarray) -> np.ndarray:
        """The far blur (float32) mixed, at its working size, with a light halo-free blur by
        the nearness to the person; `alpha_small` (uint8) is overwritten."""
        nearness = nearness_map(alpha_small)
        near = self._near.blur(frame_small, alpha_small,
                               max(_NEAR_MIN_SMALL_SIGMA, NEAR_SIGMA_FRACTION * far.shape[0]))
        if self._nearness_bgr.shape != near.shape:
            self._nearness_bgr = np.empty(near.shape, np.float32)
        cv2.merge((nearness, nearness, nearness), dst=self._nearness_bgr)
        cv2.subtract(near, far, dst=near)  # near = far + nearness * (near - far)
        cv2.multiply(near, self._nearness_bgr, dst=near)
        return cv2.add(near, far, dst=near)


def blur_background(frame_bgr: np.ndarray, alpha: np.ndarray, strength: int) -> np.ndarray:
    """Return a halo-free blurred background plate for frame_bgr; strength 0..100 (0 = no blur)."""
    return BackgroundBlur().apply(frame_bgr, alpha, strength)
