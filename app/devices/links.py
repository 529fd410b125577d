"""Device states, backoff, and handling devices that may fail or hang.

`Backoff` spaces out reconnection attempts; `DeviceSlot` lets `Pipeline.stop` release a device
without racing a worker stuck inside it; `LinkStatus` is what the status line shows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Iterator
from typing import Any, Generic, Protocol, TypeVar

import cv2
import numpy as np

from app.clock import Clock

log = logging.getLogger(__name__)

LIVE = "live"  # working normally
LOST = "lost"  # failed while running; reconnecting
UNAVAILABLE = "unavailable"  # could not be opened; retrying
NONE = "none"  # no device (a pipeline without a sink)
CLOSED = "closed"

# OpenCV's Hershey fonts are ASCII only: no dash or ellipsis on the frame itself.
LOST_CAPTION = "Camera lost - reconnecting..."
UNAVAILABLE_CAPTION = "Camera unavailable - retrying..."
# A camera that sends nothing for this long is treated as lost (CameraSource gives up at 5 s).
STALL_S = 2.0
# How long close() waits for a reconnection attempt that is still opening the device.
ATTEMPT_JOIN_S = 0.5
FALLBACK_FPS = 30.0
CARD_BGR = (48, 40, 36)


@dataclasses.dataclass(frozen=True)
class LinkStatus:
    """What a device is doing (`live`, `lost`, `unavailable` or `none`) and a line for users."""

    state: str = LIVE
    message: str = ""


class Backoff:
    """When to retry: `initial_s`, doubling to `max_s`; back to `initial_s` once a device has
    worked for `stable_s` (so a device that fails right after each reconnect is not hammered)."""

    def __init__(
        self,
        clock: Clock,
        initial_s: float = 0.5,
        max_s: float = 8.0,
        factor: float = 2.0,
        stable_s: float = 5.0,
    ) -> None:
        if not 0 < initial_s <= max_s or factor < 1:
            raise ValueError(f"backoff needs 0 < initial_s <= max_s and factor >= 1, got "
                             f"{initial_s}, {max_s}, {factor}")
        self._clock = clock
        self.initial_s, self.max_s, self.factor, self.stable_s = initial_s, max_s, factor, stable_s
        self._failures = 0
        self._due_s = clock.now_s()
        self._working_since_s: float | None = None

    def failed(self) -> float:
        """Record a failure; return the delay until the next attempt is due."""
        now_s = self._clock.now_s()
        if self._working_since_s is not None and now_s - self._working_since_s >= self.stable_s:
            self._failures = 0
        self._working_since_s = None
        delay_s = min(self.initial_s * self.factor ** self._failures, self.max_s)
        self._failures += 1
        self._due_s = now_s + delay_s
        return delay_s

    def succeeded(self) -> None:
        """The device works again; the delays start over once it has kept working."""
        self._working_since_s = self._clock.now_s()

    def ready(self) -> bool:
        """True once the next attempt is due."""
        return self._clock.now_s() >= self._due_s

    def remaining_s(self) -> float:
        return max(self._due_s - self._clock.now_s(), 0.0)


def blurred_still(frame_bgr: np.ndarray, text: str = "Be right back") -> np.ndarray:
    """A heavily blurred copy of a frame with a short centred caption (ASCII)."""
    height_px, width_px = frame_bgr.shape[:2]
    small = cv2.resize(frame_bgr, (max(width_px // 16, 1), max(height_px // 16, 1)),
                       interpolation=cv2.INTER_AREA)  # averages: the colours stay, detail goes
    still = cv2.resize(cv2.GaussianBlur(small, (0, 0), 3), (width_px, height_px))
    scale = max(width_px / 900.0, 0.5)
    thickness = max(int(scale * 2), 1)
    (text_w, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, thickness)
    origin = ((width_px - text_w) // 2, (height_px + text_h) // 2)
    cv2.putText(still, text, origin, cv2.FONT_HERSHEY_DUPLEX, scale, (255, 255, 255), thickness,
                cv2.LINE_AA)
    return still


def close_quietly(device: Any) -> None:
    """Close a source or sink (if any); a failure to close is logged, never raised."""
    if device is None:
        return
    try:
        device.close()
    except Exception as error:  # noqa: BLE001 - a driver can fail in any way while closing
        log.warning("closing %s failed: %s", device, error)


def first_line(text: str) -> str:
    """The first line of a message (virtual camera errors append a multi-line fix)."""
    return text.strip().splitlines()[0] if text.strip() else text



class _Closable(Protocol):
    def close(self) -> None: ...


DeviceT = TypeVar("DeviceT", bound=_Closable)


class DeviceSlot(Generic[DeviceT]):
    """A device one worker thread uses and another thread may release without racing it.

    The worker holds the slot while it calls the device; `release` waits at most `timeout_s`
    for that call to end, so a read or send that hangs never holds up shutdown.
    """

    def __init__(self, device: DeviceT | None) -> None:
        self.device = device  # also after release, so it can still be described
        self._lock = threading.RLock()
        self._released = False

    @contextlib.contextmanager
    def use(self) -> Iterator[DeviceT | None]:
        """The device to call (None once released), held until the block ends."""
        with self._lock:
            yield None if self._released else self.device

    def swap(self, device: DeviceT | None) -> DeviceT | None:
        """Put another device in; return the previous one (the caller closes it)."""
        with self._lock:
            previous, self.device = self.device, device
            return None if self._released else previous

    def release(self, timeout_s: float | None = None) -> bool:
        """Close the device unless it is in use for longer than `timeout_s`; True if closed."""
        if not self._lock.acquire(timeout=-1 if timeout_s is None else max(timeout_s, 0.0)):
            return False
        try:
            device = None if self._released else self.device
            self._released = True
        finally:
            self._lock.release()
        if device is not None:
            close_quietly(device)
        return True

