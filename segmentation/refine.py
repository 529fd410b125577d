"""Edge-aware upsampling of the model's low-resolution mask into a full-resolution alpha.

Fast guided upsampling (He and Sun, 2015): fit the mask, window by window, as a linear function
of the frame (alpha = a * I + b) on a reduced copy of the frame, upsample the smooth
coefficients, and apply them to the full-resolution frame. The alpha edge then lands where the
picture has its edge instead of where bilinear interpolation of a coarse mask puts it.
"""

from __future__ import annotations

from typing import TypeAlias

import cv2
import numpy as np
import numpy.typing as npt

from compositing.alpha import smoothstep_thresholds
from compositing.downscale import shrink_to

# float32 arrays; plain ndarray because OpenCV's stubs return untyped arrays.
FloatArray: TypeAlias = np.ndarray
ByteArray: TypeAlias = np.ndarray  # uint8
REFINEMENTS = ("off", "fast", "best")

# Guided filter window radius in mask pixels: the filter moves an edge by up to about half a
# window, so this is how far (about 1.5 mask pixels) a mask edge may sit from the image edge.
RADIUS_MASK_PX = 3.0
# Regularisation on the [0, 1] intensity scale: edges with a contrast below about sqrt(eps)
# (~6 gray levels of 255) are smoothed over rather than followed.
EPS = 4e-3
# Width of the reduced frame the coefficients are fitted on, in mask widths. Edge alignment on
# real masks hardly changes between 1.25 and 2.5; the cost grows with the area.
FAST_WORK_WIDTH_MASKS = 1.5
BEST_WORK_WIDTH_MASKS = 2.0
# The full-size guide is box-blurred over this many pixels: alpha = a * I + b carries the
# frame's sensor noise into the alpha, and on a noisy static clip a 3 px blur halves the
# resulting edge flicker (back to bilinear's level) for a ~6% loss in edge alignment.
GUIDE_BLUR_PX = 3
# Rows per strip for the per-pixel algebra: strips keep its temporaries small and in cache.
_STRIP_ROWS = 32
_SUM_CHANNELS = np.ones((1, 3), np.float32)
_OUT_TYPES = (np.float32, np.uint8)
# The smoothstep t*t*(3 - 2t) on 0..255, for uint8 alphas (within one level of the float one).
_LEVELS = np.arange(256, dtype=np.float64) / 255.0
_SMOOTHSTEP_LUT = np.round(255.0 * _LEVELS * _LEVELS * (3.0 - 2.0 * _LEVELS)).astype(np.uint8)


class Scratch:
    """Reusable arrays by name: big per-frame temporaries would otherwise cost page faults."""

    def __init__(self) -> None:
        self._arrays: dict[str, npt.NDArray[np.generic]] = {}

    def take(
        self, name: str, shape: tuple[int, ...], dtype: type[np.generic] = np.float32
    ) -> npt.NDArray:
        """The array called `name`, reallocated only when its shape or type changes."""
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = np.empty(shape, dtype)
            self._arrays[name] = array
        return array


def _check_quality(quality: str) -> str:
    """The quality name, or a ValueError that lists the choices."""
    if quality not in REFINEMENTS:
        raise ValueError(
            f"refinement quality must be one of {', '.join(REFINEMENTS)}, got {quality!r}"
        )
    return quality


def _check_inputs(mask_lowres: npt.ArrayLike, frame_bgr: ByteArray) -> FloatArray:
    """The mask as float32 (h, w), after checking both arrays' shapes and types."""
    mask = np.asarray(mask_lowres, dtype=np.float32)
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(
            f"AlphaRefiner.refine: mask_lowres must be a 2-D (h, w) confidence mask, got shape "
            f"{mask.shape}"
        )
    if frame_bgr.dtype != np.uint8 or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        raise ValueError(
            f"AlphaRefiner.refine: frame_bgr must be a uint8 (H, W, 3) BGR image, got "
            f"{frame_bgr.dtype} {frame_bgr.shape}"
        )
    return mask


def _ramp(
    mask: FloatArray, edge_softness: float | None, scale: float = 1.0, contrast: float = 1.0
) -> FloatArray:
    """The linear part of the edge contrast, times `scale`, applied at low resolution (the
    filters are linear, so a uint8 alpha's 255 can be applied here too). `contrast` narrows
    the smoothstep's thresholds about their middle by that factor."""
    if edge_softness is None:
        return mask * np.float32(scale) if scale != 1.0 else mask
    low, high = smoothstep_thresholds(edge_softness)
    middle, half_width = (low + high) / 2.0, (high - low) / (2.0 * contrast)
    return (mask - np.float32(middle - half_width)) * np.float32(scale / (2.0 * half_width))


def _reduce(image: ByteArray, width_px: int) -> ByteArray:
    """Shrink to about `width_px` wide (never enlarge), keeping the aspect ratio."""
    if image.shape[1] <= width_px:
        return image
    height_px = max(1, round(image.shape[0] * width_px / image.shape[1]))
    return shrink_to(image, (width_px, height_px))


def _box(image: FloatArray, radius_px: int, out: FloatArray) -> FloatArray:
    """Mean over a (2r+1)^2 window, any number of channels, written into `out`."""
    return cv2.blur(image, (2 * radius_px + 1, 2 * radius_px + 1), dst=out)


def _channels(image: FloatArray) -> list[FloatArray]:
    """Views of each channel (cv2.split is slow on float images in OpenCV 5.0)."""
    return [image[:, :, channel] for channel in range(image.shape[2])]


def gray_coefficients(
    guide: FloatArray, source: FloatArray, radius_px: int, eps: float, scratch: Scratch
) -> FloatArray:
    """Window-averaged guided filter coefficients as (h, w, 2): a, b with filtered = a * guide + b.

    `guide` is gray in [0, 1]; both arrays float32 (h, w) of one size.
    """
    height, width = source.shape
    stack = scratch.take("gray_stack", (height, width, 4))
    stack[:, :, 0] = guide
    stack[:, :, 1] = source
    np.multiply(guide, source, out=stack[:, :, 2])
    np.multiply(guide, guide, out=stack[:, :, 3])
    means = _box(stack, radius_px, scratch.take("gray_means", stack.shape))
    coefficients = scratch.take("gray_coefficients", (height, width, 2))
    for top in range(0, height, _STRIP_ROWS):
        rows = slice(top, top + _STRIP_ROWS)
        _solve_gray(means[rows], np.float32(eps), coefficients[rows])
    return _box(coefficients, radius_px, scratch.take("gray_averaged", coefficients.shape))


def _solve_gray(means: FloatArray, eps: np.float32, out: FloatArray) -> None:
    """Per pixel, a = covariance(guide, source) / (variance(guide) + eps), b = the rest."""
    mean_guide, mean_source, mean_product, mean_square = _channels(means)
    variance = mean_square - mean_guide * mean_guide + eps
    np.divide(mean_product - mean_guide * mean_source, variance, out=out[:, :, 0])
    out[:, :, 1] = mean_source - out[:, :, 0] * mean_guide


# Channel layout of the colour statistics stack: guide b, g, r; source; the six guide products
# bb, bg, br, gg, gr, rr; and the three guide-source products.
_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def color_coefficients(
    guide: FloatArray, source: FloatArray, radius_px: int, eps: float, scratch: Scratch
) -> FloatArray:
    """Window-averaged colour guided filter coefficients as (h, w, 4): a_b, a_g, a_r, b, with
    filtered = a . guide + b. `guide` is (h, w, 3) BGR in [0, 1], `source` (h, w).
    """
    height, width = source.shape
    stack = scratch.take("stack", (height, width, 13))
    stack[:, :, 0:3] = guide
    stack[:, :, 3] = source
    for index, (i, j) in enumerate(_PAIRS):
        np.multiply(guide[:, :, i], guide[:, :, j], out=stack[:, :, 4 + index])
    np.multiply(guide, source[:, :, None], out=stack[:, :, 10:13])
    means = _box(stack, radius_px, scratch.take("means", stack.shape))
    coefficients = scratch.take("coefficients", (height, width, 4))
    for top in range(0, height, _STRIP_ROWS):
        rows = slice(top, top + _STRIP_ROWS)
        _solve_color(means[rows], np.float32(eps), coefficients[rows])
    return _box(coefficients, radius_px, scratch.take("averaged", coefficients.shape))


def _solve_color(means: FloatArray, eps: np.float32, out: FloatArray) -> None:
    """Per pixel, a = (covariance(guide) + eps I)^-1 covariance(guide, source), b = the rest."""
    mb, mg, mr, mp = _channels(means[:, :, :4])
    vbb = means[:, :, 4] - mb * mb + eps
    vbg = means[:, :, 5] - mb * mg
    vbr = means[:, :, 6] - mb * mr
    vgg = means[:, :, 7] - mg * mg + eps
    vgr = means[:, :, 8] - mg * mr
    vrr = means[:, :, 9] - mr * mr + eps
    cb = means[:, :, 10] - mb * mp
    cg = means[:, :, 11] - mg * mp
    cr = means[:, :, 12] - mr * mp
    # The adjugate of the symmetric 3x3 covariance, then a = adjugate . cross / determinant.
    ibb, ibg, ibr = vgg * vrr - vgr * vgr, vgr * vbr - vbg * vrr, vbg * vgr - vgg * vbr
    igg, igr, irr = vbb * vrr - vbr * vbr, vbr * vbg - vbb * vgr, vbb * vgg - vbg * vbg
    inverse_det = 1.0 / (vbb * ibb + vbg * ibg + vbr * ibr)
    np.multiply(ibb * cb + ibg * cg + ibr * cr, inverse_det, out=out[:, :, 0])
    np.multiply(ibg * cb + igg * cg + igr * cr, inverse_det, out=out[:, :, 1])
    np.multiply(ibr * cb + igr * cg + irr * cr, inverse_det, out=out[:, :, 2])
    out[:, :, 3] = mp - out[:, :, 0] * mb - out[:, :, 1] * mg - out[:, :, 2] * mr


class AlphaRefiner:
    """Turns the smoothed low-resolution mask into a full-resolution alpha that follows the
    frame's edges. Qualities: 'off' (bilinear, like compositing.alpha.soft_alpha), 'fast' (gray
    guide, fitted at 1.5 mask widths) and 'best' (colour guide, fitted at 2 mask widths); both
    apply the fit to the full-size frame.
    """

    def __init__(self, quality: str = "fast") -> None:
        self.quality = quality
        self._scratch = Scratch()

    @property
    def quality(self) -> str:
        """'off', 'fast' or 'best'; settable live."""
        return self._quality

    @quality.setter
    def quality(self, quality: str) -> None:
        self._quality = _check_quality(quality)

    def refine(
        self,
        mask_lowres: npt.ArrayLike,
        frame_bgr: ByteArray,
        edge_softness: float | None = None,
        out: FloatArray | ByteArray | None = None,
        contrast: float = 1.0,
    ) -> FloatArray | ByteArray:
        """Alpha (H, W) for the frame, from the (h, w) confidence mask.

        With `edge_softness` (0..1) the alpha gets the same smoothstep contrast as
        compositing.alpha.soft_alpha, ready for the compositor, its ramp `contrast` times as
        steep (for an alpha that will be enlarged); None returns the refined confidence,
        clipped, without contrast. Float32 in [0, 1]; or uint8 0..255 when `out`
        is uint8, which rounds once at the end and touches a quarter of the bytes. Writes into
        `out` when it fits, else into a new float32 array.
        """
        mask = _check_inputs(mask_lowres, frame_bgr)
        height_px, width_px = frame_bgr.shape[:2]
        if out is None or out.shape != (height_px, width_px) or out.dtype not in _OUT_TYPES:
            out = np.empty((height_px, width_px), np.float32)
        # uint8 output: scale the fit to 0..255 at low resolution, saturate on the final add.
        scale = 255.0 if out.dtype == np.uint8 else 1.0
        ramp = _ramp(mask, edge_softness, scale, contrast)
        if self._quality == "off":
            self._apply_off(ramp, out)
        elif self._quality == "fast":
            self._apply_gray(ramp, frame_bgr, out)
        else:
            self._apply_color(ramp, frame_bgr, out)
        if out.dtype == np.uint8:
            if edge_softness is not None:
                cv2.LUT(out, _SMOOTHSTEP_LUT, dst=out)
            return out
        cv2.threshold(out, 1.0, 1.0, cv2.THRESH_TRUNC, dst=out)
        cv2.threshold(out, 0.0, 0.0, cv2.THRESH_TOZERO, dst=out)
        if edge_softness is not None:
            self._smoothstep(out)
        return out

    def _smoothstep(self, alpha: FloatArray) -> None:
        """In place t*t*(3 - 2t) on an alpha already clipped to [0, 1]."""
        three_minus_two_t = self._scratch.take("smoothstep", alpha.shape, np.float32)
        cv2.addWeighted(alpha, -2.0, alpha, 0.0, 3.0, dst=three_minus_two_t)
        cv2.multiply(alpha, alpha, dst=alpha)
        cv2.multiply(alpha, three_minus_two_t, dst=alpha)

    def _apply_off(self, ramp: FloatArray, out: FloatArray | ByteArray) -> None:
        """Bilinear upsampling of the (scaled) ramp; uint8 output saturates on conversion."""
        size = (out.shape[1], out.shape[0])
        if out.dtype != np.uint8:
            cv2.resize(ramp, size, dst=out, interpolation=cv2.INTER_LINEAR)
            return
        ramp_full = self._scratch.take("ramp_full", out.shape, np.float32)
        cv2.resize(ramp, size, dst=ramp_full, interpolation=cv2.INTER_LINEAR)
        cv2.addWeighted(ramp_full, 1.0, ramp_full, 0.0, 0.0, dst=out, dtype=cv2.CV_8U)

    def _apply_gray(
        self, ramp: FloatArray, frame_bgr: ByteArray, alpha: FloatArray | ByteArray
    ) -> None:
        """Fit (a, b) on a reduced gray frame, then alpha = a * gray + b at full size."""
        height_px, width_px = frame_bgr.shape[:2]
        gray = self._scratch.take("gray", (height_px, width_px), np.uint8)
        cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY, dst=gray)
        cv2.blur(gray, (GUIDE_BLUR_PX, GUIDE_BLUR_PX), dst=gray)
        guide, source, radius_px = _work_inputs(gray, ramp, FAST_WORK_WIDTH_MASKS)
        coefficients = gray_coefficients(guide, source, radius_px, EPS, self._scratch)
        slope = np.multiply(coefficients[:, :, 0], np.float32(1.0 / 255.0))  # for uint8 gray
        offset = np.ascontiguousarray(coefficients[:, :, 1])
        full = (width_px, height_px)
        slope_full = self._scratch.take("slope", (height_px, width_px), np.float32)
        cv2.resize(slope, full, dst=slope_full, interpolation=cv2.INTER_LINEAR)
        cv2.multiply(slope_full, gray, dst=slope_full, dtype=cv2.CV_32F)
        offset_full = self._offset_buffer(alpha)
        cv2.resize(offset, full, dst=offset_full, interpolation=cv2.INTER_LINEAR)
        cv2.add(offset_full, slope_full, dst=alpha, dtype=_cv_depth(alpha))

    def _offset_buffer(self, alpha: FloatArray | ByteArray) -> FloatArray:
        """Where the upsampled offset goes: a float alpha itself, else a float scratch array."""
        if alpha.dtype == np.float32:
            return alpha
        return self._scratch.take("offset_full", alpha.shape, np.float32)

    def _apply_color(
        self, ramp: FloatArray, frame_bgr: ByteArray, alpha: FloatArray | ByteArray
    ) -> None:
        """Fit per-channel (a, b) on a reduced colour frame, then alpha = a . bgr + b full size."""
        height_px, width_px = frame_bgr.shape[:2]
        guide, source, radius_px = _work_inputs(frame_bgr, ramp, BEST_WORK_WIDTH_MASKS)
        coefficients = color_coefficients(guide, source, radius_px, EPS, self._scratch)
        slopes = self._scratch.take("slopes_small", guide.shape)
        np.multiply(coefficients[:, :, :3], np.float32(1.0 / 255.0), out=slopes)  # for uint8
        offset = np.ascontiguousarray(coefficients[:, :, 3])
        full = (width_px, height_px)
        slopes_full = self._scratch.take("slopes", (height_px, width_px, 3))
        cv2.resize(slopes, full, dst=slopes_full, interpolation=cv2.INTER_LINEAR)
        guide_full = self._scratch.take("guide_full", frame_bgr.shape, np.uint8)
        cv2.blur(frame_bgr, (GUIDE_BLUR_PX, GUIDE_BLUR_PX), dst=guide_full)
        cv2.multiply(slopes_full, guide_full, dst=slopes_full, dtype=cv2.CV_32F)
        summed = self._scratch.take("summed", (height_px, width_px))
        cv2.transform(slopes_full, _SUM_CHANNELS, dst=summed)
        offset_full = self._offset_buffer(alpha)
        cv2.resize(offset, full, dst=offset_full, interpolation=cv2.INTER_LINEAR)
        cv2.add(offset_full, summed, dst=alpha, dtype=_cv_depth(alpha))


def _cv_depth(array: np.ndarray) -> int:
    return cv2.CV_8U if array.dtype == np.uint8 else cv2.CV_32F


def _work_inputs(
    image: ByteArray, ramp: FloatArray, width_masks: float
) -> tuple[FloatArray, FloatArray, int]:
    """The reduced guide in [0, 1], the mask resized to it, and the window radius in its pixels."""
    mask_width_px = ramp.shape[1]
    reduced = _reduce(image, max(1, round(width_masks * mask_width_px)))
    guide = reduced.astype(np.float32)
    guide *= np.float32(1.0 / 255.0)
    work_size = (reduced.shape[1], reduced.shape[0])
    source = cv2.resize(ramp, work_size, interpolation=cv2.INTER_LINEAR)
    radius_px = max(1, round(RADIUS_MASK_PX * work_size[0] / mask_width_px))
    return guide, source, radius_px


def refine_alpha(
    mask_lowres: npt.ArrayLike,
    frame_bgr: ByteArray,
    quality: str = "fast",
    edge_softness: float | None = None,
) -> FloatArray:
    """One-off `AlphaRefiner(quality).refine(...)`; keep an AlphaRefiner for video."""
    return AlphaRefiner(quality).refine(mask_lowres, frame_bgr, edge_softness)
