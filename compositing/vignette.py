"""Vignette: darken the output towards its corners, as a lens does.

A gain map is built once per size and strength (uint8, 255 = unchanged) and applied with one
saturating multiply, so a frame costs a fraction of a millisecond at 720p.
"""

from __future__ import annotations

import cv2
import numpy as np

# How dark the very corner gets at strength 1 (a fraction of the original brightness lost).
MAX_DARKENING = 0.6


class Vignette:
    """`apply(frame_bgr) -> frame_bgr`, darkened towards the corners by `strength` (0..1)."""

    def __init__(self, strength: float = 0.0) -> None:
        self.strength = strength
        self._key: tuple[int, int, float] | None = None
        self._gain: np.ndarray | None = None

    def apply(self, frame_bgr: np.ndarray) -> np.ndarray:
        if self.strength <= 0.0:
            return frame_bgr
        height_px, width_px = frame_bgr.shape[:2]
        key = (width_px, height_px, self.strength)
        if key != self._key or self._gain is None:
            self._gain = vignette_gain(width_px, height_px, self.strength)
            self._key = key
        return cv2.multiply(frame_bgr, self._gain, scale=1.0 / 255.0)


def vignette_gain(width_px: int, height_px: int, strength: float) -> np.ndarray:
    """The (H, W, 3) uint8 gain: 255 in the middle, falling smoothly to the corners."""
    ys = np.linspace(-1.0, 1.0, height_px, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width_px, dtype=np.float32)[None, :]
    radius = np.sqrt(xs * xs + ys * ys) / np.sqrt(2.0)  # 0 at the centre, 1 in a corner
    falloff = np.clip((radius - 0.35) / 0.65, 0.0, 1.0)
    falloff = falloff * falloff * (3.0 - 2.0 * falloff)  # smoothstep: no visible ring
    gain = 1.0 - MAX_DARKENING * float(strength) * falloff
    gain_u8 = np.round(gain * 255.0).astype(np.uint8)
    return cv2.merge([gain_u8, gain_u8, gain_u8])
