"""The stills the virtual camera gets instead of the live picture: a "Camera off" card while
sending is off, and the idle still while nobody watches.

The device keeps streaming either way, so meeting apps keep it: v4l2loopback with
exclusive_caps lists the device only while a producer streams, and a closed device leaves the
meeting without a camera until the user picks it again.
"""

from __future__ import annotations

import functools

import numpy as np

from app.devices.links import CARD_BGR, blurred_still

# OpenCV's Hershey fonts are ASCII only.
OFF_CAPTION = "Camera off"
IDLE_CAPTION = "Backdrop - waking up..."


def plain_card(width_px: int, height_px: int) -> np.ndarray:
    """A card of Backdrop's neutral colour at the output size, with nothing on it."""
    card = np.empty((height_px, width_px, 3), np.uint8)
    card[:] = CARD_BGR
    return card


@functools.lru_cache(maxsize=4)
def off_card(width_px: int, height_px: int) -> np.ndarray:
    """The "Camera off" card at the output size: no picture of the room or the person. Shared
    between calls, so it is read-only."""
    card = blurred_still(plain_card(width_px, height_px), OFF_CAPTION)
    card.flags.writeable = False
    return card
