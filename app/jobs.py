"""One job at a time on a helper thread, its result collected once by the owner.

The demo draws its next frame on one while the pipeline works on the current frame; the
pipeline composites one frame on one while it reads and segments the next. It is a
single-worker `ThreadPoolExecutor`; what it adds is the owner's side: one outstanding
`Future`, which a timed-out `take` leaves in place to be collected later. `NewestJob` builds
what the owner asked for last (a background, a model) while the owner keeps working.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K")


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


class NewestJob(Generic[K, T]):
    """Builds `build(key)` on a helper thread, one at a time; only the newest request counts.

    The owner asks with `request(key)` and collects with `poll()`, which never waits. A build
    that finishes after a newer request (or `cancel`) is handed to `discard`, and the newest
    request is built next: the latest choice wins, and nothing piles up.
    """

    def __init__(self, name: str, build: Callable[[K], T], discard: Callable[[T], None]) -> None:
        self._jobs: JobThread[T] = JobThread(name)
        self._build = build
        self._discard = discard
        self._running: list[K] = []  # the key being built, if any
        self._wanted: list[K] = []  # the newest key asked for and not yet handed back

    @property
    def wanted(self) -> K | None:
        """The key asked for and not yet handed back by `poll` (None when none is)."""
        return self._wanted[0] if self._wanted else None

    def request(self, key: K) -> None:
        """Build `key` (after the build in progress, if that is for another key)."""
        self._wanted = [key]
        if not self._running:
            self._submit(key)

    def cancel(self) -> None:
        """Want nothing: a build in progress is discarded when it ends."""
        self._wanted = []

    def poll(self) -> tuple[K, T | Exception] | None:
        """The newest request's result (or the exception its build raised), once it is done;
        None while it is not. Never waits."""
        if not self._running:
            return None
        key = self._running[0]
        try:
            result: T | Exception | None = self._jobs.take(timeout_s=0)
        except Exception as error:  # handed to the owner, who knows which failures to expect
            result = error
        if result is None:
            return None
        self._running = []
        if self._wanted and self._wanted[0] == key:
            self._wanted = []
            return key, result
        if not isinstance(result, Exception):
            self._discard(result)
        if self._wanted:
            self._submit(self._wanted[0])
        return None

    def _submit(self, key: K) -> None:
        self._running = [key]
        self._jobs.submit(lambda: self._build(key))

    def close(self) -> None:
        """Wait for a build in progress, discard what it built, and join the thread."""
        self._wanted = []
        if self._running:
            self._running = []
            try:
                result = self._jobs.take()
            except Exception:  # noqa: S110 - nobody wants this build's result or its failure
                result = None
            if result is not None:
                self._discard(result)
        self._jobs.close()
