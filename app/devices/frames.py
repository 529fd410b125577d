"""The types every frame source shares: the frame, the source Protocol, and its error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

# Frame rates outside this range, as reported by a camera or a file, are not believed.
PLAUSIBLE_FPS_RANGE = (1.0, 240.0)


class SourceError(Exception):
    """A source cannot be opened or stopped working; the message is meant for the user."""


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured picture. `image_bgr` belongs to this frame alone (never reused)."""

    image_bgr: np.ndarray
    captured_s: float
    index: int


class FrameSource(Protocol):
    """Where frames come from. Sizes and rate are the actual ones once `open()` returned."""

    @property
    def name(self) -> str: ...

    @property
    def width_px(self) -> int: ...

    @property
    def height_px(self) -> int: ...

    @property
    def fps(self) -> float: ...

    def open(self) -> None:
        """Acquire the device or file; raises SourceError with a user-facing message."""
        ...

    def read(self, timeout_s: float = 1.0) -> Frame | None:
        """The newest frame not yet returned, waiting up to `timeout_s`; None on timeout."""
        ...

    def close(self) -> None:
        """Release everything and join any thread. Safe to call twice."""
        ...


class VideoCaptureLike(Protocol):
    """The part of cv2.VideoCapture the camera source uses (tests pass a fake)."""

    def isOpened(self) -> bool: ...  # noqa: N802 (OpenCV's name)

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def set(self, prop_id: int, value: float) -> bool: ...

    def get(self, prop_id: int) -> float: ...

    def release(self) -> None: ...


CaptureFactory = Callable[[int | str, int], VideoCaptureLike]



def as_bgr(image: np.ndarray) -> np.ndarray:
    """Three-channel uint8 BGR, whatever the backend delivered."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image

