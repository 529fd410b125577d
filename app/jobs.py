"""One job at a time on a helper thread, its result collected once by the owner.

The demo draws its next frame on one while the pipeline works on the current frame; the
pipeline composites one frame on one while it reads and segments the next. It is a
single-worker `ThreadPoolExecutor`; what it adds is the owner's side: one outstanding
`Future`, which a timed-out `take` leaves in place to be collected later.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class JobThread(Generic[T]):
    """One job in progress at most; `take` waits for it and hands back its result."""

    def __init__(self, name: str) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)
        self._future: concurrent.futures.Future[T] | None = None

    def submit(self, job: Callable[[], T]) -> None:
        """Start `job`; the caller has taken the previous result (or does not want it)."""
        self._future = self._executor.submit(job)

    def take(self, timeout_s: float | None = None) -> T | None:
        """The finished job's result (once), waiting up to `timeout_s` for a job in progress.

        None when nothing was submitted or the job is not done in time; a job's exception is
        raised here, on the owner's thread.
        """
        if self._future is None:
            return None
        try:
            result = self._future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            return None
        except BaseException:
            self._future = None
            raise
        self._future = None
        return result

    def close(self) -> None:
        """Let the job in progress finish, then join the thread."""
        self._future = None
        self._executor.shutdown(wait=True, cancel_futures=True)
