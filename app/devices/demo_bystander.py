"""A second, smaller person behind the demo's main one: someone walking past at the back.

Drawn into the room (behind the main person, who is composited over it), with its own truth,
for the "only the main person" tests: the same cut-out at `_SCALE` of the size, at the left
edge, clear of her (a mask cannot tell two people apart where they touch), a little softer.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.devices.demo_motion import base_transform

_SCALE = 0.40
_CENTRE_X_FRACTION = 0.09  # where the bystander's face is, across the frame (clear of her)


def draw_bystander(room_bgr: np.ndarray, cutout_bgra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the room with the bystander in it, the bystander's alpha: uint8, 255 = person).

    `cutout_bgra` is the demo's premultiplied cut-out, its A the background weight.
    """
    height_px, width_px = room_bgr.shape[:2]
    face_x = width_px / 2.0  # where base_transform puts the main person's face
    shrink = cv2.getRotationMatrix2D((face_x, float(height_px)), 0.0, _SCALE)
    shrink[0, 2] += (_CENTRE_X_FRACTION - 0.5) * width_px
    transform = np.vstack([shrink, [0.0, 0.0, 1.0]]) @ base_transform(width_px, height_px)
    warped = cv2.warpAffine(
        cutout_bgra, transform[:2], (width_px, height_px), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 255),
    )
    warped = cv2.GaussianBlur(warped, (0, 0), 0.8)
    weight = cv2.cvtColor(np.ascontiguousarray(warped[..., 3]), cv2.COLOR_GRAY2BGR)
    person = cv2.cvtColor(warped, cv2.COLOR_BGRA2BGR)
    room = cv2.add(cv2.multiply(room_bgr, weight, scale=1.0 / 255.0), person)
    return room, cv2.bitwise_not(warped[..., 3])
