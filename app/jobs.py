"""A thread that runs one job at a time for its owner, who collects each result.

The demo draws its next frame on one while the pipeline works on the current frame; the
pipeline composites one frame on one while it reads and segments the next.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_JOIN_TIMEOUT_S = 2.0


class JobThread(Generic[T]):
    """One job in progress at most; `take` waits for it and hands back its result."""

    def __init__(self, name: str) -> None:
        self._condition = threading.Condition()
        self._job: Callable[[], T] | None = None
        self._busy = False
        self._result: T | None = None
        self._error: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], T]) -> None:
        """Start `job`; the caller has taken the previous result (or does not want it)."""
        with self._condition:
            self._job, self._busy = job, True
            self._result = None
            self._condition.notify_all()

    def take(self, timeout_s: float | None = None) -> T | None:
        """The finished job's result (once), waiting up to `timeout_s` for a job in progress.

        None when nothing was submitted or the job is not done in time; a job's exception is
        raised here, on the owner's thread.
        """
        with self._condition:
            done = self._condition.wait_for(lambda: not self._busy or self._stopping, timeout_s)
            if not done:
                return None
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            result, self._result = self._result, None
            return result

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._job is not None or self._stopping)
                if self._stopping:
                    return
                job, self._job = self._job, None
            assert job is not None
            result: T | None = None
            error: BaseException | None = None
            try:
                result = job()
            except Exception as caught:  # handed to the owner by take()
                error = caught
            with self._condition:
                self._result, self._error, self._busy = result, error, False
                self._condition.notify_all()

    def close(self) -> None:
        """Stop after the job in progress and join the thread."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        self._thread.join(_JOIN_TIMEOUT_S)
