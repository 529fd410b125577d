"""Denoise: average the person's grain away over time, without ghosts when they move.

A motion-adaptive recursive filter, per pixel: the running picture moves a fraction `k` of the
way to each new frame. Where the new frame differs from the running picture by no more than
sensor noise, `k` is small (strength 1: about an eighth, so the grain of about eight frames
averages out); where it differs by more, as anything that moved does, `k` rises to 1 and the
new frame passes straight through, so nothing trails. It runs on the camera's person (inside
the alpha's box) and is added in the alpha's share of the composite, so the new background is
never touched. The running picture is kept in 1/16 levels, so slow changes still follow.
"""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_STRENGTH = 0.6
# A difference (in levels, per channel) this large is change, followed at once; smaller ones
# are followed less, the least at 0 (sensor noise is a few levels).
_CHANGE_LEVELS = 30.0
_FRACTION_BITS = 4  # the running picture's fixed point: 16 steps a level
_SCALE = 1 << _FRACTION_BITS


class Denoise:
    """`apply(frame_bgr, camera_bgr, alpha_u8) -> frame_bgr`, with the running picture as state.

    `frame_bgr` is the composite of `camera_bgr` (the same size); a new size starts afresh.
    """

    def __init__(self, strength: float = DEFAULT_STRENGTH) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"denoise strength must be in 0..1, not {strength}")
        self.strength = strength
        self._running: np.ndarray | None = None  # int16, the camera's levels x 16

    def reset(self) -> None:
        self._running = None

    def apply(self, frame_bgr: np.ndarray, camera_bgr: np.ndarray,
              alpha_u8: np.ndarray) -> np.ndarray:
        if self.strength <= 0.0:
            self._running = None
            return frame_bgr
        if self._running is None or self._running.shape != camera_bgr.shape:
            self._running = camera_bgr.astype(np.int16) << _FRACTION_BITS
            return frame_bgr
        x, y, width_px, height_px = cv2.boundingRect(alpha_u8)
        if width_px == 0 or height_px == 0:
            return frame_bgr
        box = (slice(y, y + height_px), slice(x, x + width_px))
        camera = camera_bgr[box]
        denoised = self._follow(camera, self._running[box])
        # Outside the person's box the running picture goes stale; where the box grows into
        # it, a real difference passes through and a picture that stayed the same agrees.
        self._running[box] = denoised
        # Where the alpha is the person's: out = frame + (denoised - camera), as two saturating
        # uint8 passes each way. The change is a few levels of noise, so switching at half
        # alpha leaves no visible step in the soft edge.
        denoised_u8 = cv2.convertScaleAbs(denoised, alpha=1 / _SCALE)
        person = cv2.threshold(alpha_u8[box], 127, 255, cv2.THRESH_BINARY)[1]
        out = frame_bgr.copy()
        region = out[box]
        cv2.add(region, cv2.subtract(denoised_u8, camera), dst=region, mask=person)
        cv2.subtract(region, cv2.subtract(camera, denoised_u8), dst=region, mask=person)
        return out

    def _follow(self, camera: np.ndarray, running: np.ndarray) -> np.ndarray:
        """The running picture moved `k` of the way to `camera`, per pixel and channel: k_min
        for a difference of noise, rising linearly to 1 at `_CHANGE_LEVELS`."""
        target = camera.astype(np.int16) << _FRACTION_BITS
        step = cv2.subtract(target, running)
        difference = cv2.convertScaleAbs(step, alpha=1 / _SCALE)  # |step| in levels, uint8
        k_min = 1.0 - 0.875 * self.strength
        k = cv2.convertScaleAbs(difference, alpha=255 * (1 - k_min) / _CHANGE_LEVELS,
                                beta=255 * k_min).astype(np.int16)  # 255: follow at once
        step = cv2.multiply(step, k, scale=1 / 255)
        return cv2.add(running, step)
