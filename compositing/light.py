"""Light: raise a dim face towards a natural exposure, like a soft key light on the person.

Each pixel is multiplied by one gain for its three channels, as a longer exposure would, so the
face keeps its colour (a curve per channel washes it out towards grey). The gain comes from a
lift curve `1 - (1 - x) ** gain` on the pixel's brightest channel: dark tones gain most, and that
channel ends on the curve, so nothing below white reaches white. The curve is chosen so the
face's mean luminance meets a natural target, eased slowly from frame to frame so it never
pumps, and applied with a gentle falloff around the face, only on the person (the alpha), never
on the background.
"""

from __future__ import annotations

import cv2
import numpy as np

from compositing.blend import scratch_bytes

# Natural exposure for a face: mean luma about 0.55 of full scale.
TARGET_FACE_LUMA = 0.55
_MAX_GAIN = 4.0
# Per-frame easing of the gain: about a second to settle at 30 fps.
_EASE_PER_FRAME = 0.08
# The key light's reach, in face widths from the face centre (Gaussian sigma).
_FALLOFF_FACE_WIDTHS = 0.9
DEFAULT_STRENGTH = 0.75
_REACH_SIGMAS = 2.0  # the light ends this many sigmas from the face's centre
_STAMP_TOLERANCE = 0.05  # of sigma: a falloff this much narrower or wider looks the same
# The per-pixel gain is kept in 64ths (uint8: up to 255/64, about 4x).
_GAIN_ONE = 64
_TABLE_TOLERANCE = 0.005  # the eased gain moves this much before its table is made again

Box = tuple[float, float, float, float]


def lift_lut(gain: float) -> np.ndarray:
    """The tone curve as a uint8 LUT; only 255 maps to 255, so nothing new clips."""
    x = np.arange(256, dtype=np.float64) / 255.0
    lifted = np.rint(255.0 * (1.0 - (1.0 - x) ** gain))
    lut = np.minimum(np.maximum(lifted, np.arange(256)), 254).astype(np.uint8)
    lut[255] = 255
    return lut


def extra_gain_table(gain: float) -> np.ndarray:
    """uint8, by a pixel's brightest channel: the gain above 1 that takes that channel onto the
    curve, in 64ths, rounded down (so the channel never passes the curve, nor white)."""
    levels = np.arange(256, dtype=np.float64)
    gains = lift_lut(gain) / np.maximum(levels, 1.0)
    gains[0] = gain  # the curve's slope at black
    return np.clip(np.floor(_GAIN_ONE * gains) - _GAIN_ONE, 0, 255 - _GAIN_ONE).astype(np.uint8)


def gain_for(level: float, target_level: float = TARGET_FACE_LUMA) -> float:
    """The curve's gain that takes this level (0..1) to the target; never darkens."""
    level = min(max(level, 1e-3), 0.999)
    if level >= target_level:
        return 1.0
    return min(float(np.log(1.0 - target_level) / np.log(1.0 - level)), _MAX_GAIN)


def face_gain(face_bgr: np.ndarray) -> float:
    """The gain that brings this face's mean luma to the target. The curve acts on each pixel's
    brightest channel and the luma follows it in proportion, so the brightest channel's mean is
    taken to the target raised by the face's ratio of brightest channel to luma."""
    luma = float(cv2.cvtColor(face_bgr, cv2.COLOR_BGR2GRAY).mean()) / 255.0
    if luma >= TARGET_FACE_LUMA:
        return 1.0
    blue, green, red = cv2.split(face_bgr)
    brightest = float(cv2.max(cv2.max(blue, green), red).mean()) / 255.0
    target = min(0.98, TARGET_FACE_LUMA * brightest / max(luma, 1e-3))
    return gain_for(brightest, target)


def _inner(box: Box, width_px: int, height_px: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * 0.2, (y1 - y0) * 0.2
    return (
        max(0, int(x0 + dx)), max(0, int(y0 + dy)),
        min(width_px, int(x1 - dx)), min(height_px, int(y1 - dy)),
    )


class Light:
    """`apply(frame_bgr, alpha_u8, face_box) -> frame_bgr`, with the eased gain as its state."""

    def __init__(self, strength: float = DEFAULT_STRENGTH) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"light strength must be in 0..1, not {strength}")
        self.strength = strength
        self.gain = 1.0
        self._last_box: Box | None = None  # where the light fades out when the face is lost
        self._stamp, self._stamp_sigma = np.zeros((1, 1), np.uint8), 0.0
        self._table, self._table_gain = extra_gain_table(1.0), 1.0
        # Per-frame temporaries on buffers that only grow (see `scratch_bytes`).
        empty = np.empty(0, np.uint8)
        self._weight = self._blue = self._green = self._red = self._gains = empty

    def reset(self) -> None:
        self.gain = 1.0
        self._last_box = None

    def apply(
        self, frame_bgr: np.ndarray, alpha_u8: np.ndarray, face_box: Box | None,
        camera_bgr: np.ndarray | None = None, out: np.ndarray | None = None,
    ) -> np.ndarray:
        """The frame with the person's face lit; the frame itself when there is nothing to do.

        `frame_bgr` may be a composite and `camera_bgr` the camera's frame it came from: the
        face's exposure is measured on the camera (a face in a new background never counts).
        The lift goes on the composite, in the alpha's share from half up, so a soft edge,
        mostly the new background, is barely lifted. The result goes into `out` when given (it
        may be `frame_bgr` itself), else a new array."""
        height_px, width_px = frame_bgr.shape[:2]
        camera_bgr = frame_bgr if camera_bgr is None else camera_bgr
        target = 1.0
        if face_box is not None and self.strength > 0.0:
            fx0, fy0, fx1, fy1 = _inner(face_box, width_px, height_px)
            if fx1 > fx0 and fy1 > fy0:
                face = face_gain(camera_bgr[fy0:fy1, fx0:fx1])
                target = 1.0 + self.strength * (face - 1.0)
        self.gain += _EASE_PER_FRAME * (target - self.gain)
        # A face the detector lost for a moment fades out where it was, as it faded in.
        face_box = self._last_box = face_box or self._last_box
        if face_box is None or self.gain < 1.01:
            return frame_bgr
        return self._lit(frame_bgr, alpha_u8, face_box, out)

    def _lit(self, frame_bgr: np.ndarray, alpha_u8: np.ndarray, face_box: Box,
             out: np.ndarray | None) -> np.ndarray:
        height_px, width_px = frame_bgr.shape[:2]
        x0, y0, x1, y1 = face_box
        sigma_px = max(1.0, _FALLOFF_FACE_WIDTHS * (x1 - x0))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        # The light reaches _REACH_SIGMAS, and only the person: outside her box it adds 0.
        reach_px = _REACH_SIGMAS * sigma_px
        wx0, wy0 = max(0, int(cx - reach_px)), max(0, int(cy - reach_px))
        wx1, wy1 = min(width_px, int(cx + reach_px)), min(height_px, int(cy + reach_px))
        px, py, pw, ph = cv2.boundingRect(alpha_u8[wy0:wy1, wx0:wx1])
        if pw == 0 or ph == 0:
            return frame_bgr
        rx0, ry0, rx1, ry1 = wx0 + px, wy0 + py, wx0 + px + pw, wy0 + py + ph
        if out is None:
            out = frame_bgr.copy()
        elif out is not frame_bgr:
            out[:] = frame_bgr
        region = out[ry0:ry1, rx0:rx1]
        shape = (ry1 - ry0, rx1 - rx0)
        # The light's weight: the falloff times her share (none up to half alpha, then rising
        # to full: (alpha - 128) * 2, saturated).
        her_alpha = alpha_u8[ry0:ry1, rx0:rx1]
        weight = scratch_bytes(self, "_weight", shape)
        cv2.addWeighted(her_alpha, 2.0, her_alpha, 0.0, -256.0, dst=weight)
        falloff = self._falloff(rx0, ry0, rx1, ry1, cx, cy, sigma_px)
        cv2.multiply(falloff, weight, dst=weight, scale=1 / 255)
        # Each pixel's gain, from its brightest channel, weighted: 64 + weight x extra / 255.
        channels = [scratch_bytes(self, name, shape) for name in ("_blue", "_green", "_red")]
        brightest, green, red = cv2.split(region, channels)  # into the kept buffers
        cv2.max(brightest, green, dst=brightest)
        cv2.max(brightest, red, dst=brightest)
        cv2.LUT(brightest, self._extra_gains(), dst=brightest)
        cv2.multiply(brightest, weight, dst=brightest, scale=1 / 255)
        cv2.add(brightest, _GAIN_ONE, dst=brightest)
        gains = scratch_bytes(self, "_gains", (*shape, 3))
        cv2.cvtColor(brightest, cv2.COLOR_GRAY2BGR, dst=gains)
        cv2.multiply(region, gains, dst=region, scale=1 / _GAIN_ONE)
        return out

    def _extra_gains(self) -> np.ndarray:
        """The eased gain's `extra_gain_table`, made again only when the gain has moved."""
        if abs(self.gain - self._table_gain) > _TABLE_TOLERANCE:
            self._table, self._table_gain = extra_gain_table(self.gain), self.gain
        return self._table

    def _falloff(self, rx0: int, ry0: int, rx1: int, ry1: int, cx: float, cy: float,
                 sigma_px: float) -> np.ndarray:
        """uint8: the key light's Gaussian falloff over the region, 255 at the face's centre
        (to the pixel). A view of one kept stamp, made again only when the face's size changes
        by more than `_STAMP_TOLERANCE` (the detector's box moves a little every frame)."""
        if abs(sigma_px - self._stamp_sigma) > _STAMP_TOLERANCE * self._stamp_sigma:
            reach = int(np.ceil(_REACH_SIGMAS * (1.0 + _STAMP_TOLERANCE) * sigma_px)) + 2
            steps = np.arange(-reach, reach + 1, dtype=np.float32) / np.float32(sigma_px)
            # A Gaussian eased to 0 at the reach, so the light's edge shows no step.
            at_reach = np.exp(np.float32(-0.5 * _REACH_SIGMAS**2))
            gauss = np.maximum(np.exp(-0.5 * steps * steps) - at_reach, 0) / (1 - at_reach)
            self._stamp = np.rint(255.0 * np.outer(gauss, gauss)).astype(np.uint8)
            self._stamp_sigma = sigma_px
        reach = self._stamp.shape[0] // 2
        top, left = reach - int(round(cy)), reach - int(round(cx))
        return self._stamp[ry0 + top:ry1 + top, rx0 + left:rx1 + left]
