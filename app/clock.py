"""Injectable time, so pacing, smoothing and timeouts are tested without sleeping."""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds and a way to wait; the only source of time for pacing code."""

    def now_s(self) -> float:
        """Monotonic time in seconds (arbitrary origin)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` (nothing for zero or negative)."""
        ...


class SystemClock:
    """The real clock: time.monotonic and time.sleep."""

    def now_s(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock for tests: time moves only when told; `sleep` advances it instantly.

    `slept_s` records every sleep so a test can check how long code chose to wait.
    Thread-safe, so a source's reader thread may stamp frames with it.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = float(start_s)
        self._lock = threading.Lock()
        self.slept_s: list[float] = []

    def now_s(self) -> float:
        with self._lock:
            return self._now_s

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` (never backwards: the clock is monotonic)."""
        if seconds < 0:
            raise ValueError(f"FakeClock cannot go backwards (advance by {seconds} s)")
        with self._lock:
            self._now_s += seconds

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept_s.append(seconds)
            if seconds > 0:
                self._now_s += seconds


class FramePacer:
    """Says which frame of a `fps` stream is due now, waiting (via the clock) when none is.

    The latest frame wins: a consumer that falls behind gets the frame due now and
    the ones in between are skipped, so lag never builds up.
    """

    # Guards floor() against (t * fps) landing a hair below a whole frame number.
    _EPSILON_FRAMES = 1e-6

    def __init__(self, clock: Clock, fps: float) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self._clock = clock
        self._fps = float(fps)
        self._start_s = clock.now_s()
        self._next_index = 0

    def restart(self) -> None:
        """Frame 0 is due now."""
        self._start_s = self._clock.now_s()
        self._next_index = 0

    def next_due(self, timeout_s: float) -> int | None:
        """Index of the newest frame due, waiting up to `timeout_s` for one; None on timeout."""
        now_s = self._clock.now_s()
        elapsed_frames = (now_s - self._start_s) * self._fps + self._EPSILON_FRAMES
        due_index = max(self._next_index, math.floor(elapsed_frames))
        wait_s = self._start_s + due_index / self._fps - now_s
        if wait_s > timeout_s:
            self._clock.sleep(timeout_s)
            return None
        if wait_s > 0:
            self._clock.sleep(wait_s)
        self._next_index = due_index + 1
        return due_index
