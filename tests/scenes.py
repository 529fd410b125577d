"""Synthetic pictures shared by the compositing tests."""

from __future__ import annotations

import cv2
import numpy as np


def soft_person_scene(
    height_px: int, width_px: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random frame and background, and the float alpha of a soft-edged person (an ellipse
    rising from the bottom edge, blurred by 4 px) in the middle of the picture."""
    rng = np.random.default_rng(seed)
    frame_bgr = rng.integers(0, 256, (height_px, width_px, 3), dtype=np.uint8)
    background_bgr = rng.integers(0, 256, (height_px, width_px, 3), dtype=np.uint8)
    person = np.zeros((height_px, width_px), np.float32)
    cv2.ellipse(person, (width_px // 2, height_px), (width_px // 4, height_px * 3 // 4), 0, 0,
                360, 1.0, -1)
    return frame_bgr, background_bgr, cv2.GaussianBlur(person, (0, 0), 4.0)
