"""Leak checks that see every thread of the process, not only the ones Python started.

`threading.enumerate()` misses native threads (MediaPipe's graph, a driver's, Qt's, anything a
C library starts), so a baseline also counts the OS's threads of this process
(/proc/self/task, Linux). Process-wide pools that outlive their first user are created once,
before any baseline, so they never count as a leak; see `warm_process_pools`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from segmentation.models import GENERAL
from segmentation.segmenter import LiveSegmenter

_TASKS_DIR = Path("/proc/self/task")
# Measured on Linux with mediapipe 1.2.3 (with 2 CPUs, and pinned to 1 with taskset): the first
# segmenter a process creates and closes leaves exactly 2 native threads behind for the life of
# the process; every later one leaves none. test_threads.py checks it in a fresh interpreter.
MEDIAPIPE_PROCESS_THREADS = 2
# Qt's own pooled workers (QImage scaling and conversion for the preview): shared by the
# process, they end after 30 s idle and are no one's here to join, so they are not counted.
_QT_POOLED_THREAD_NAME = "Thread (pooled)"
_NATIVE_POLL_S = 0.01
_warmed = False


def native_thread_ids() -> frozenset[int] | None:
    """This process's threads as the OS lists them (their thread ids), Qt's pooled workers left
    out; None where there is no /proc (the checks then see Python threads only)."""
    try:
        task_ids = list(_TASKS_DIR.iterdir())
    except OSError:
        return None
    ids = set()
    for task in task_ids:
        try:
            name = (task / "comm").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue  # it ended while being looked at
        if name != _QT_POOLED_THREAD_NAME:
            ids.add(int(task.name))
    return frozenset(ids)


def native_thread_count() -> int | None:
    """How many threads `native_thread_ids` lists; None without /proc."""
    ids = native_thread_ids()
    return None if ids is None else len(ids)


def warm_process_pools() -> None:
    """Create, once per process, the native pools that outlive their first user: MediaPipe's
    (`MEDIAPIPE_PROCESS_THREADS`) and OpenCV's parallel_for workers."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    LiveSegmenter(GENERAL).close()
    cv2.GaussianBlur(np.zeros((720, 1280, 3), np.uint8), (31, 31), 0)


@dataclass(frozen=True)
class ThreadBaseline:
    """The threads alive when a test began; `check` fails if more are alive now."""

    python_threads: frozenset[threading.Thread]
    # By id, not by count: a thread of an earlier test that ends after the baseline was taken
    # must not hide (or fake) one that this test started.
    native_ids: frozenset[int] | None

    def python_left(self) -> list[str]:
        return [thread.name for thread in threading.enumerate()
                if thread not in self.python_threads and thread.is_alive()]

    def native_extra(self) -> int:
        """How many OS threads are alive now that were not at the baseline (0 without /proc)."""
        ids = native_thread_ids()
        if ids is None or self.native_ids is None:
            return 0
        return len(ids - self.native_ids)

    def check(self) -> None:
        """Raise AssertionError naming what outlived the baseline (for qtbot.waitUntil too)."""
        python_left, native_extra = self.python_left(), self.native_extra()
        assert not python_left and not native_extra, (
            f"threads outlived their owner: Python {python_left}, "
            f"{native_extra} more native thread(s) than before"
        )


def thread_baseline() -> ThreadBaseline:
    """What is running now, after the process-wide pools exist."""
    warm_process_pools()
    return ThreadBaseline(frozenset(threading.enumerate()), native_thread_ids())


def assert_no_threads_left(baseline: ThreadBaseline, timeout_s: float = 10.0) -> None:
    """Every Python thread started since `baseline` has ended, now (owners join them); and the
    OS's count is back to the baseline's within `timeout_s` (a joined thread's OS thread, and
    MediaPipe's graph threads after close, end a moment after the call that ends them)."""
    python_left = baseline.python_left()
    assert python_left == [], f"Python threads outlived their owner: {python_left}"
    deadline_s = time.monotonic() + timeout_s
    while baseline.native_extra() and time.monotonic() < deadline_s:
        time.sleep(_NATIVE_POLL_S)
    baseline.check()
