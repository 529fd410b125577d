"""Helpers for tests that wait on the pipeline's threads: a frame collector and a bounded wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from app.engine.stats import StatsSnapshot


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout_s`."""
    deadline_s = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline_s:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.01)


class FrameCollector:
    """An `on_frame` callback that keeps a copy of every preview frame (on the worker thread)."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []
        self.lock = threading.Lock()

    def __call__(self, frame_bgr: np.ndarray, _snapshot: StatsSnapshot) -> None:
        with self.lock:
            self.frames.append(frame_bgr.copy())

    def count(self) -> int:
        with self.lock:
            return len(self.frames)

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[np.ndarray]:
        """The frames so far, once there are at least `count`."""
        wait_until(lambda: self.count() >= count, f"{count} frames arrived", timeout_s)
        with self.lock:
            return list(self.frames)
