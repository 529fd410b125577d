"""Light: raise a dim face towards a natural exposure, like a soft key light on the person.

A lift curve `1 - (1 - x) ** gain` (a smooth gain and gamma: dark tones gain most, white stays
white) is chosen so the face's mean luminance meets a natural target, eased slowly from frame
to frame so it never pumps, and applied with a gentle falloff around the face, only on the
person (the alpha), never on the background. Values below white never reach white.
"""

from __future__ import annotations

import cv2
import numpy as np

# Natural exposure for a face: mean luma about 0.55 of full scale.
TARGET_FACE_LUMA = 0.55
_MAX_GAIN = 4.0
# Per-frame easing of the gain: about a second to settle at 30 fps.
_EASE_PER_FRAME = 0.08
# The key light's reach, in face widths from the face centre (Gaussian sigma).
_FALLOFF_FACE_WIDTHS = 1.2
DEFAULT_STRENGTH = 0.75
# The lift's weight from the alpha: none up to half, then rising to full. A soft edge is mostly
# the room (the camera's) there, and lighting it would make a glow around the hair.
_ALPHA_RAMP = np.clip((np.arange(256) - 128) * 2, 0, 255).astype(np.uint8)

Box = tuple[float, float, float, float]
_BELOW_WHITE = (254.0, 254.0, 254.0, 0.0)


def lift_lut(gain: float) -> np.ndarray:
    """The tone curve as a uint8 LUT; only 255 maps to 255, so nothing new clips."""
    x = np.arange(256, dtype=np.float64) / 255.0
    lifted = np.rint(255.0 * (1.0 - (1.0 - x) ** gain))
    lut = np.minimum(np.maximum(lifted, np.arange(256)), 254).astype(np.uint8)
    lut[255] = 255
    return lut


def gain_for(face_luma: float, target_luma: float = TARGET_FACE_LUMA) -> float:
    """The lift gain that takes a face of this mean luma (0..1) to the target; never darkens."""
    face_luma = min(max(face_luma, 1e-3), 0.999)
    if face_luma >= target_luma:
        return 1.0
    return min(float(np.log(1.0 - target_luma) / np.log(1.0 - face_luma)), _MAX_GAIN)


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
        self._falloff_key: tuple[int, int, int, int, int, int] | None = None
        self._falloff = np.zeros((0, 0), np.uint8)

    def reset(self) -> None:
        self.gain = 1.0
        self._last_box = None
        self._falloff_key = None

    def apply(
        self, frame_bgr: np.ndarray, alpha_u8: np.ndarray, face_box: Box | None,
        camera_bgr: np.ndarray | None = None,
    ) -> np.ndarray:
        """The frame with the person's face lit; the frame itself when there is nothing to do.

        `frame_bgr` may be a composite and `camera_bgr` the camera's frame it came from: the
        lift is then the camera's person lit, added in the alpha's share (alpha x lift), so the
        new background in a soft edge is never lifted (it would glow around the hair)."""
        height_px, width_px = frame_bgr.shape[:2]
        camera_bgr = frame_bgr if camera_bgr is None else camera_bgr
        target = 1.0
        if face_box is not None and self.strength > 0.0:
            fx0, fy0, fx1, fy1 = _inner(face_box, width_px, height_px)
            if fx1 > fx0 and fy1 > fy0:
                face = cv2.cvtColor(camera_bgr[fy0:fy1, fx0:fx1], cv2.COLOR_BGR2GRAY)
                target = 1.0 + self.strength * (gain_for(float(face.mean()) / 255.0) - 1.0)
        self.gain += _EASE_PER_FRAME * (target - self.gain)
        # A face the detector lost for a moment fades out where it was, as it faded in.
        face_box = self._last_box = face_box or self._last_box
        if face_box is None or self.gain < 1.01:
            return frame_bgr
        return self._lit(frame_bgr, camera_bgr, alpha_u8, face_box)

    def _lit(self, frame_bgr: np.ndarray, camera_bgr: np.ndarray, alpha_u8: np.ndarray,
             face_box: Box) -> np.ndarray:
        height_px, width_px = frame_bgr.shape[:2]
        x0, y0, x1, y1 = face_box
        sigma_px = max(1.0, _FALLOFF_FACE_WIDTHS * (x1 - x0))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        # The light reaches 3 sigma, and only the person: outside the alpha's box it adds 0.
        px, py, pw, ph = cv2.boundingRect(alpha_u8)
        rx0, ry0 = max(px, int(cx - 3 * sigma_px)), max(py, int(cy - 3 * sigma_px))
        rx1, ry1 = min(px + pw, int(cx + 3 * sigma_px)), min(py + ph, int(cy + 3 * sigma_px))
        if rx1 <= rx0 or ry1 <= ry0:
            return frame_bgr
        falloff = self._falloff_in(rx0, ry0, rx1, ry1, cx, cy, sigma_px)
        person = cv2.LUT(alpha_u8[ry0:ry1, rx0:rx1], _ALPHA_RAMP)
        weight = cv2.multiply(falloff, person, scale=1 / 255)
        region = frame_bgr[ry0:ry1, rx0:rx1]
        # All in uint8 (the curve only raises, so its lift is >= 0): under 1 ms on a 720p person.
        lift = cv2.LUT(camera_bgr[ry0:ry1, rx0:rx1],
                       lift_lut(self.gain) - np.arange(256, dtype=np.uint8))
        lift = cv2.multiply(lift, cv2.merge([weight, weight, weight]), scale=1 / 255)
        out = frame_bgr.copy()
        lit = cv2.add(region, lift)
        # Only what was white stays white: the lift comes from the camera's picture, and a
        # composite a few levels brighter (denoised, wrapped) must not be pushed into clipping.
        cv2.min(lit, cv2.max(region, _BELOW_WHITE), dst=out[ry0:ry1, rx0:rx1])
        return out

    def _falloff_in(
        self, rx0: int, ry0: int, rx1: int, ry1: int, cx: float, cy: float, sigma_px: float
    ) -> np.ndarray:
        """The key light's Gaussian falloff over the region, kept while the box is still."""
        key = (rx0, ry0, rx1, ry1, int(cx), int(cy))
        if key != self._falloff_key:
            xs = (np.arange(rx0, rx1, dtype=np.float32) - cx) / sigma_px
            ys = (np.arange(ry0, ry1, dtype=np.float32) - cy) / sigma_px
            falloff = np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2))
            self._falloff = np.rint(255.0 * falloff).astype(np.uint8)
            self._falloff_key = key
        return self._falloff
