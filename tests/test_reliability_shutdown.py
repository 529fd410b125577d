"""Clean shutdown: stop() is bounded even when a device call hangs, and SIGTERM ends a run
with every thread stopped and the output file finished so that it plays."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.devices.demo import DemoSource
from app.devices.frames import Frame
from app.devices.sinks import NullSink, VirtualCamSink
from app.engine.pipeline import Pipeline
from app.settings import Settings
from tests.threads import assert_no_threads_left, thread_baseline
from tests.vcam_backend import (  # noqa: F401
    RECORDING_BACKEND,
    VcamRecorder,
    recording_vcam_fixture,
)

ROOT = Path(__file__).resolve().parents[1]


def _settings() -> Settings:
    settings = Settings()
    return dataclasses.replace(settings, effect=dataclasses.replace(settings.effect, kind="blur"))


class HangingDemo(DemoSource):
    """The demo, until `hang` is set: then read() blocks like a driver that never returns."""

    def __init__(self) -> None:
        super().__init__(320, 240, 30.0)
        self.hang = threading.Event()
        self.release = threading.Event()
        self.inside_read = threading.Event()
        self.closed = threading.Event()

    def read(self, timeout_s: float = 1.0) -> Frame | None:
        if self.hang.is_set():
            self.inside_read.set()
            self.release.wait(30.0)
        return super().read(timeout_s)

    def close(self) -> None:
        super().close()
        self.closed.set()


class HangingSink(NullSink):
    """A null sink whose send() blocks once `hang` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.hang = threading.Event()
        self.release = threading.Event()
        self.inside_send = threading.Event()
        self.closed = threading.Event()

    def send(self, frame_bgr: np.ndarray) -> None:
        if self.hang.is_set():
            self.inside_send.set()
            self.release.wait(30.0)
        super().send(frame_bgr)

    def close(self) -> None:
        super().close()
        self.closed.set()


def _wait_for_frames(pipeline: Pipeline, count: int) -> None:
    deadline_s = time.monotonic() + 20.0
    while pipeline.snapshot().frames_out < count:
        assert time.monotonic() < deadline_s, "no frames"
        time.sleep(0.01)


def test_stop_returns_and_releases_the_virtual_camera_while_a_camera_read_hangs(
    recording_vcam: VcamRecorder,
) -> None:
    baseline = thread_baseline()
    source = HangingDemo()
    pipeline = Pipeline(_settings(), source, VirtualCamSink(RECORDING_BACKEND))
    pipeline.start()
    _wait_for_frames(pipeline, 3)
    source.hang.set()
    assert source.inside_read.wait(10.0)
    pipeline.stop()
    assert not source.release.is_set() and not source.closed.is_set()  # still stuck in read
    assert recording_vcam.last.close_calls == 1  # yet the meeting's camera was let go
    assert not pipeline.running
    source.release.set()  # the driver finally returns: the worker ends and closes the camera
    assert pipeline.wait(10.0)
    assert source.closed.is_set() and pipeline.error is None
    assert_no_threads_left(baseline)


def test_stop_returns_and_releases_the_camera_while_a_virtual_camera_send_hangs() -> None:
    baseline = thread_baseline()
    source, sink = HangingDemo(), HangingSink()
    pipeline = Pipeline(_settings(), source, sink)
    pipeline.start()
    _wait_for_frames(pipeline, 3)
    sink.hang.set()
    assert sink.inside_send.wait(10.0)
    pipeline.stop()
    assert not sink.release.is_set() and not sink.closed.is_set()  # still stuck in send
    assert source.closed.is_set()  # the camera was released anyway
    sink.release.set()
    assert pipeline.wait(10.0)
    assert sink.closed.is_set() and pipeline.error is None
    assert_no_threads_left(baseline)


def test_a_source_switched_to_after_a_timed_out_stop_is_closed() -> None:
    """The GUI may hand over a camera it opened just as the window closes: once stop() has
    been asked, nothing will ever apply it, so it is closed at once, not leaked."""
    source = HangingDemo()
    pipeline = Pipeline(_settings(), source, NullSink())
    pipeline.start()
    _wait_for_frames(pipeline, 3)
    source.hang.set()
    assert source.inside_read.wait(10.0)
    pipeline.stop()  # times out: the worker is stuck in the read
    source.release.set()
    assert pipeline.wait(10.0)  # the worker ended and closed what it had
    late = DemoSource(320, 240, 30.0)
    late.open()
    pipeline.set_source(late)
    with pytest.raises(RuntimeError, match="open"):
        late.read(0.1)  # closed: nobody else would have closed it


def _frames_in(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_sigterm_stops_a_run_cleanly_and_the_file_plays(tmp_path: Path) -> None:
    env = dict(os.environ, BACKDROP_CONFIG_DIR=str(tmp_path / "config"), PYTHONPATH=str(ROOT))
    target = tmp_path / "out.mp4"
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "run", "--source", "demo", "--output", "out.mp4",
         "--size", "640x360", "--seconds", "60"],
        env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline_s = time.monotonic() + 60
        while time.monotonic() < deadline_s and (
            not target.exists() or target.stat().st_size < 20000
        ):
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "wrote" in stderr
    assert _frames_in(target) > 5
