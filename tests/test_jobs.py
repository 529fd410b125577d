"""The one-job thread the demo and the compositing stage use."""

from __future__ import annotations

import threading

import pytest

from app.jobs import JobThread
from tests.threads import assert_no_threads_left, thread_baseline


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
