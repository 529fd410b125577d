"""The one-job thread the demo and the compositing stage use."""

from __future__ import annotations

import threading
from typing import TypeVar

import pytest

from app.jobs import JobThread, NewestJob
from tests.threads import assert_no_threads_left, thread_baseline
from tests.waiting import wait_until

K = TypeVar("K")
T = TypeVar("T")


def test_a_result_is_handed_back_once_and_the_thread_is_joined() -> None:
    baseline = thread_baseline()
    jobs: JobThread[int] = JobThread("test-jobs")
    assert jobs.take(0.1) is None  # nothing submitted yet
    jobs.submit(lambda: 6 * 7)
    assert jobs.take(5.0) == 42
    assert jobs.take(0.1) is None  # taken already
    jobs.close()
    assert_no_threads_left(baseline)


def test_a_slow_job_times_out_and_can_be_taken_later() -> None:
    release = threading.Event()
    jobs: JobThread[str] = JobThread("test-jobs")
    jobs.submit(lambda: "done" if release.wait(5.0) else "stuck")
    assert jobs.take(0.05) is None
    release.set()
    assert jobs.take(5.0) == "done"
    jobs.close()


def test_a_failing_job_raises_on_the_owners_thread_and_the_thread_goes_on() -> None:
    jobs: JobThread[int] = JobThread("test-jobs")
    jobs.submit(lambda: 1 // 0)
    with pytest.raises(ZeroDivisionError):
        jobs.take(5.0)
    jobs.submit(lambda: 3)
    assert jobs.take(5.0) == 3
    jobs.close()


def _handed_back(jobs: NewestJob[K, T]) -> tuple[K, T | Exception]:
    """Poll (never waiting) until the newest build is handed back; fail after a bound."""
    done: list[tuple[K, T | Exception]] = []

    def handed_back() -> bool:
        result = jobs.poll()
        if result is not None:
            done.append(result)
        return bool(done)

    wait_until(handed_back, "the newest build was handed back")
    return done[0]


def test_the_newest_request_wins_and_superseded_builds_are_discarded() -> None:
    before = set(threading.enumerate())
    gate = threading.Event()
    discarded: list[str] = []

    def build(key: str) -> str:
        if key == "first":
            gate.wait(5.0)
        return key.upper()

    jobs: NewestJob[str, str] = NewestJob("test-newest", build, discarded.append)
    jobs.request("first")
    jobs.request("second")  # while "first" is still being built
    assert jobs.poll() is None and jobs.wanted == "second"
    gate.set()
    assert _handed_back(jobs) == ("second", "SECOND")  # "first" was built, then discarded
    assert discarded == ["FIRST"]
    assert jobs.wanted is None and jobs.poll() is None
    jobs.close()
    assert set(threading.enumerate()) <= before


def test_a_failed_build_is_handed_back_and_close_discards_a_build_in_progress() -> None:
    before = set(threading.enumerate())
    started = threading.Event()
    discarded: list[int] = []

    def build(key: int) -> int:
        if key == 0:
            raise ValueError("no zero")
        started.set()
        return key

    jobs: NewestJob[int, int] = NewestJob("test-newest", build, discarded.append)
    jobs.request(0)
    key, failure = _handed_back(jobs)
    assert key == 0 and isinstance(failure, ValueError)
    jobs.request(7)
    assert started.wait(5.0)
    jobs.close()  # nobody collected the build: close discards it
    assert discarded == [7]
    assert set(threading.enumerate()) <= before
