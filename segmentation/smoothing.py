"""Temporal smoothing of person-confidence masks at model resolution.

Both smoothers keep their own float32 buffers (never a view of the caller's array), reset
themselves when the mask size changes, and return a fresh array the caller may keep.
"""

from __future__ import annotations

from typing import TypeAlias

import cv2
import numpy as np
import numpy.typing as npt

from compositing.blend import AlphaTiles, on_tiles, strips_around, tile_side_px
from compositing.downscale import scale_to

# float32 arrays; plain ndarray because OpenCV's stubs return untyped arrays.
FloatArray: TypeAlias = np.ndarray
ByteArray: TypeAlias = np.ndarray  # uint8

# MediaPipe's polynomial (segmentation_smoothing_calculator.cc) for the certainty of a
# confidence p as a function of x = (p - 0.5)^2; uncertainty = 1 - min(1, certainty), which
# approximates the squared binary entropy: 1 at p = 0.5, 0 at p = 0 and p = 1.
_C1 = 5.68842
_C2 = -0.748699
_C3 = -57.8051
_C4 = 291.309
_C5 = -624.717


# Motion-aware tuning. Image change is in gray levels (0..255) of the 3x3 box-blurred gray frame
# at mask size, spread to its 3x3 neighbourhood. A pixel is fully still below
# _STILL_NOISE_MULTIPLE times the noise level and fully moving _MOTION_SPAN_LEVELS above that.
_NOISE_LEVEL_MIN = 0.5
_NOISE_LEVEL_MAX = 6.0
_NOISE_RATE = 0.1
_STILL_NOISE_MULTIPLE = 3.0
_MOTION_SPAN_LEVELS = 6.0
_SPREAD_KERNEL = np.ones((3, 3), np.uint8)
# Even at ratio 1, a still pixel takes this much of the new mask, so a still picture's mask
# still converges (in a few dozen frames) instead of freezing.
_MOTION_AWARE_MAX_HOLD = 0.95


def _check_ratio(ratio: float) -> float:
    """The hold ratio as a float in [0, 1], or a ValueError that says what is allowed."""
    ratio = float(ratio)
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"smoothing ratio must be between 0 (off) and 1, got {ratio}")
    return ratio


def _own_confidence(confidence: npt.ArrayLike, where: str) -> FloatArray:
    """A fresh float32 copy of a 2-D confidence mask, clipped to [0, 1]."""
    array = np.asarray(confidence)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(
            f"{where}: confidence must be a 2-D (h, w) mask at model resolution, got shape "
            f"{array.shape}; pass the segmenter's confidence mask"
        )
    return np.clip(array, 0.0, 1.0, dtype=np.float32)


def uncertainty(confidence: FloatArray, out: FloatArray | None = None) -> FloatArray:
    """MediaPipe's uncertainty of each confidence: 1 at 0.5, falling to 0 at 0 and 1."""
    x = np.subtract(confidence, np.float32(0.5), out=out)
    np.multiply(x, x, out=x)
    certainty = np.empty_like(x)
    np.multiply(x, np.float32(_C5), out=certainty)
    for coefficient in (_C4, _C3, _C2, _C1):
        certainty += np.float32(coefficient)
        certainty *= x
    np.minimum(certainty, np.float32(1.0), out=certainty)
    return np.subtract(np.float32(1.0), certainty, out=x)


class UncertaintySmoother:
    """MediaPipe's SegmentationSmoothingCalculator rule: out = new + (previous - new) * u * ratio.

    Confident pixels follow the new frame at once; uncertain (edge) pixels are held. Ratio 0 is
    off (output equals input).
    """

    def __init__(self, ratio: float = 0.7) -> None:
        self._ratio = _check_ratio(ratio)
        self._previous: FloatArray | None = None
        self._hold: FloatArray | None = None

    @property
    def ratio(self) -> float:
        """How much of the previous output uncertain pixels keep, in [0, 1]; settable live."""
        return self._ratio

    @ratio.setter
    def ratio(self, ratio: float) -> None:
        self._ratio = _check_ratio(ratio)

    def reset(self) -> None:
        """Forget the previous frame; the next update passes its input through."""
        self._previous = None
        self._hold = None

    def update(self, confidence: npt.ArrayLike) -> FloatArray:
        """Smooth one (h, w) confidence mask; returns a new float32 array the caller owns."""
        new = _own_confidence(confidence, "UncertaintySmoother.update")
        previous = self._previous
        if previous is None or previous.shape != new.shape or self._ratio == 0.0:
            self._previous = new
            self._hold = np.empty_like(new)
            return new.copy()
        assert self._hold is not None
        hold = uncertainty(new, out=self._hold)
        hold *= np.float32(self._ratio)
        np.subtract(previous, new, out=previous)
        previous *= hold
        previous += new
        return previous.copy()


class MotionAwareSmoother:
    """Holds the mask where the picture is still and follows the new mask where it moved.

    Per pixel, the image change d = |gray_t - gray_t-1| (box-blurred, spread to neighbours) is
    measured against a running estimate of the sensor noise; stillness s goes from 1 (change
    within the noise) to 0 (clear motion). The hold weight ratio * s * max(u, s) keeps uncertain
    and confident pixels alike where the image is still and lets every pixel follow at once where
    it moved, so static flicker drops without trailing a moving person. The hold never exceeds
    0.95, so even ratio 1 does not freeze the mask.
    """

    def __init__(self, ratio: float = 0.7) -> None:
        self._ratio = _check_ratio(ratio)
        self._previous: FloatArray | None = None
        self._previous_gray: FloatArray | None = None
        self._noise_level: float | None = None
        self._last_hold: FloatArray | None = None
        self._buffers: dict[str, FloatArray] = {}

    @property
    def ratio(self) -> float:
        """How much of the previous output still pixels keep, in [0, 1]; settable live."""
        return self._ratio

    @ratio.setter
    def ratio(self, ratio: float) -> None:
        self._ratio = _check_ratio(ratio)

    @property
    def noise_level(self) -> float | None:
        """The running estimate of frame-to-frame sensor noise in gray levels (0..255), as the
        lower quartile of the spread image change; None before two frames were seen."""
        return self._noise_level

    @property
    def last_hold(self) -> FloatArray | None:
        """The per-pixel hold weight of the last update (0 = followed the new mask), or None.

        `AlphaStabilizer` applies the same weights to the full-size alpha.
        """
        return self._last_hold

    def reset(self) -> None:
        """Forget the previous frame and the noise estimate."""
        self._previous = None
        self._previous_gray = None
        self._noise_level = None
        self._last_hold = None

    def update(self, confidence: npt.ArrayLike, frame_small_gray: npt.ArrayLike) -> FloatArray:
        """Smooth one (h, w) confidence mask given the frame as gray (0..255) at the same size.

        Returns a new float32 array the caller owns.
        """
        new = _own_confidence(confidence, "MotionAwareSmoother.update")
        gray = _blurred_gray(frame_small_gray, new.shape)
        previous, previous_gray = self._previous, self._previous_gray
        if previous is None or previous_gray is None or previous.shape != new.shape:
            self._previous_gray = gray
            self._previous = new
            self._buffers = {name: np.empty_like(new) for name in ("change", "hold", "u")}
            self._last_hold = None
            return new.copy()
        stillness = self._stillness(gray, previous_gray)
        hold = uncertainty(new, out=self._buffers["u"])
        np.maximum(hold, stillness, out=hold)
        hold *= stillness
        hold *= np.float32(min(self._ratio, _MOTION_AWARE_MAX_HOLD))
        self._last_hold = hold
        # The reference picture is held exactly as the mask is, so slow motion that stays
        # within the noise from one frame to the next still adds up against it and is followed.
        np.subtract(previous_gray, gray, out=previous_gray)
        previous_gray *= hold
        previous_gray += gray
        np.subtract(previous, new, out=previous)
        previous *= hold
        previous += new
        return previous.copy()

    def _stillness(self, gray: FloatArray, previous_gray: FloatArray) -> FloatArray:
        """Per-pixel stillness in [0, 1] from the image change, measured in units of noise."""
        change = cv2.absdiff(gray, previous_gray, dst=self._buffers["change"])
        cv2.dilate(change, _SPREAD_KERNEL, dst=change)
        self._update_noise_level(change)
        assert self._noise_level is not None
        still_below = _STILL_NOISE_MULTIPLE * self._noise_level
        moving_above = still_below + _MOTION_SPAN_LEVELS
        stillness = self._buffers["hold"]
        np.subtract(np.float32(moving_above), change, out=stillness)
        stillness *= np.float32(1.0 / (moving_above - still_below))
        return np.clip(stillness, 0.0, 1.0, out=stillness)

    def _update_noise_level(self, change: FloatArray) -> None:
        """Follow the lower quartile of the image change (sensor noise unless three quarters of
        the picture moved) slowly, within fixed bounds; the first measurement is taken as is."""
        sample = change[::4, ::4].ravel()
        quartile = float(np.partition(sample, sample.size // 4)[sample.size // 4])
        if self._noise_level is None:
            estimate = quartile
        else:
            estimate = self._noise_level + _NOISE_RATE * (quartile - self._noise_level)
        self._noise_level = min(max(estimate, _NOISE_LEVEL_MIN), _NOISE_LEVEL_MAX)


def _blurred_gray(frame_small_gray: npt.ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    """The gray frame as a fresh, 3x3 box-blurred float32 array, checked against the mask size."""
    gray = np.asarray(frame_small_gray)
    if gray.shape != shape:
        raise ValueError(
            f"MotionAwareSmoother.update: frame_small_gray must be a single-channel image of the "
            f"mask's size {shape}, got shape {gray.shape}; convert with cv2.cvtColor(..., "
            f"cv2.COLOR_BGR2GRAY) and cv2.resize it to (w, h) = ({shape[1]}, {shape[0]})"
        )
    return cv2.blur(gray.astype(np.float32), (3, 3))


# Alpha changes between frames smaller than this are treated as noise the stabiliser may hold;
# a moving edge changes the alpha by more within a frame, so it is followed at once.
_ALPHA_NOISE_SPAN = 0.1
# How far an alpha change of 0..255 levels is from noise: 255 * max(0, 1 - change / span).
_CHANGE_LEVELS = np.arange(256, dtype=np.float64)
_CLOSENESS_LUT = np.round(
    255.0 * np.clip(1.0 - _CHANGE_LEVELS / (255.0 * _ALPHA_NOISE_SPAN), 0.0, 1.0)
).astype(np.uint8)


class AlphaStabilizer:
    """Applies the smoother's hold weights to the full-size uint8 alpha.

    Edge refinement follows the frame's pixels, so sensor noise in a still picture moves the
    refined edge a little every frame. Holding the alpha where the smoother found the picture
    still removes that flicker; where the picture moved the weight is 0 and nothing trails.
    All of it is 8-bit: each frame touches a quarter of the bytes float32 would.
    """

    def __init__(self) -> None:
        self._previous: ByteArray | None = None
        self._weight: ByteArray = np.empty((0, 0), np.uint8)
        self._scratch: ByteArray = np.empty((0, 0), np.uint8)

    def reset(self) -> None:
        self._previous = None

    def update(
        self,
        alpha: ByteArray,
        hold_lowres: FloatArray | None,
        region: tuple[slice, slice] | None = None,
    ) -> ByteArray:
        """Stabilise `alpha` (uint8 H x W, 255 = person) in place and return it; keeps its own
        copy.

        With `region` (rows, cols) only that box of `alpha` is worked on: `alpha` is 0 outside
        it, and `hold_lowres` (float32 weights in [0, 1]) covers just the box.
        """
        if alpha.dtype != np.uint8 or alpha.ndim != 2:
            raise ValueError(
                f"AlphaStabilizer.update: alpha must be uint8 (H, W), got {alpha.dtype} "
                f"{alpha.shape}"
            )
        previous = self._previous
        if previous is None or previous.shape != alpha.shape:
            self._previous = alpha.copy()
            self._weight = np.empty_like(alpha)
            self._scratch = np.empty_like(alpha)
            return alpha
        if hold_lowres is None:  # nothing to hold by (a carried mask): just remember this alpha
            np.copyto(previous, alpha)
            return alpha
        height_px, width_px = alpha.shape
        box = region or (slice(0, height_px), slice(0, width_px))
        side = tile_side_px(height_px, width_px)
        if side is None:
            self._hold_box(alpha, previous, hold_lowres, box)
        else:
            self._hold_tiles(alpha, previous, hold_lowres, box, side)
        if region is not None:
            for strip in strips_around(*region):
                previous[strip] = 0
        return alpha

    def _hold_box(
        self, alpha: ByteArray, previous: ByteArray, hold_lowres: FloatArray,
        box: tuple[slice, slice],
    ) -> None:
        """The hold over the whole box, for frames no tile size divides."""
        inside, kept = alpha[box], previous[box]
        weight, scratch = self._weight[box], self._scratch[box]
        hold_u8 = cv2.convertScaleAbs(hold_lowres, alpha=255.0)
        scale_to(hold_u8, (inside.shape[1], inside.shape[0]), out=weight)
        cv2.absdiff(kept, inside, dst=scratch)
        _hold(inside, kept, weight, scratch)
        np.copyto(kept, inside)

    def _hold_tiles(
        self, alpha: ByteArray, previous: ByteArray, hold_lowres: FloatArray,
        box: tuple[slice, slice], side: int,
    ) -> None:
        """The hold only on the tiles where the alpha changed since the last frame: elsewhere
        the kept alpha already is the new one (inside her, outside her, and on a still edge)."""
        grid = on_tiles(box, side)
        weight = self._weight
        weight[grid] = 0  # the hold weights cover the box; the grid's rim around it changes none
        hold_u8 = cv2.convertScaleAbs(hold_lowres, alpha=255.0)
        rows, cols = box
        scale_to(hold_u8, (cols.stop - cols.start, rows.stop - rows.start), out=weight[box])
        change = self._scratch[grid]
        cv2.absdiff(previous[grid], alpha[grid], dst=change)
        tiles = AlphaTiles(change, side, any_above_zero=True)
        if tiles.count == 0:
            return
        flat = (tiles.count * side, side)
        inside, kept = tiles.gather(alpha[grid]).reshape(flat), tiles.gather(previous[grid])
        _hold(inside, kept.reshape(flat), tiles.gather(weight[grid]).reshape(flat),
              tiles.gather(change).reshape(flat))
        packed = inside.reshape(tiles.count, side, side)
        tiles.scatter(packed, alpha[grid])
        tiles.scatter(packed, previous[grid])


def _hold(inside: ByteArray, kept: ByteArray, weight: ByteArray, change: ByteArray) -> None:
    """inside = kept * w + inside * (1 - w) in place, with w = the hold weight times how close
    the change |kept - inside| is to noise; `weight` and `change` are overwritten."""
    # Only small changes are noise: a change of _ALPHA_NOISE_SPAN or more is followed at once.
    cv2.LUT(change, _CLOSENESS_LUT, dst=change)
    cv2.multiply(weight, change, dst=weight, scale=1.0 / 255.0)
    cv2.multiply(kept, weight, dst=change, scale=1.0 / 255.0)
    cv2.bitwise_not(weight, dst=weight)
    cv2.multiply(inside, weight, dst=inside, scale=1.0 / 255.0)
    cv2.add(inside, change, dst=inside)
