"""A virtual camera that is missing, busy or fails mid-run: the preview keeps running, the
status says what happened, and Backdrop reopens the device by itself."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.clock import FakeClock
from app.devices.demo import DemoSource
from app.devices.resilience import ResilientSink
from app.devices.sinks import FrameSink, NullSink, SinkError, VideoFileSink, VirtualCamSink
from app.engine.pipeline import Pipeline
from app.engine.stats import StatsSnapshot
from app.settings import Settings
from tests.threads import assert_no_threads_left, thread_baseline
from tests.vcam_backend import (  # noqa: F401
    RECORDING_BACKEND,
    VcamRecorder,
    recording_vcam_fixture,
)
from tests.waiting import wait_until as _wait_until

FRAME_S = 1.0 / 30.0


class FlakySink(NullSink):
    """A NullSink whose opens and sends fail on cue."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.open_failures = 0
        self.fail_sends = False
        self.open_times: list[float] = []

    def open(self, width_px: int, height_px: int, fps: int) -> None:
        self.open_times.append(self.clock.now_s())
        if self.open_failures:
            self.open_failures -= 1
            raise SinkError("Could not start the virtual camera: device is busy\n\nHow to fix...")
        super().open(width_px, height_px, fps)

    def send(self, frame_bgr: np.ndarray) -> None:
        if self.fail_sends:
            raise SinkError("The virtual camera stopped accepting frames: device went away")
        super().send(frame_bgr)


FRAME = np.zeros((4, 4, 3), np.uint8)


def _send_for(sink: ResilientSink, clock: FakeClock, seconds: float) -> None:
    for _ in range(round(seconds / FRAME_S)):
        sink.send(FRAME)
        clock.advance(FRAME_S)


def test_a_failing_sink_drops_frames_and_is_reopened_with_backoff() -> None:
    clock = FakeClock()
    inner = FlakySink(clock)
    sink = ResilientSink(inner, clock)
    sink.open(4, 4, 30)
    _send_for(sink, clock, 0.5)
    assert inner.frames_sent == 15
    inner.fail_sends = True
    inner.open_failures = 3  # unplugged for a while
    _send_for(sink, clock, 2.0)
    assert sink.status.state == "lost"
    assert "retrying in 2 s: Could not start the virtual camera: device is busy" in (
        sink.status.message  # why the latest attempt failed, and when the next one is
    )
    assert sink.messages == [
        "The virtual camera stopped accepting frames: device went away Retrying in 0.5 s; "
        "the preview keeps running."
    ]
    inner.fail_sends = False
    _send_for(sink, clock, 6.0)
    reopen_times = inner.open_times[1:]
    assert np.diff(reopen_times) == pytest.approx([1.0, 2.0, 4.0], abs=FRAME_S)
    assert sink.status.state == "live" and sink.recoveries == 1
    assert sink.messages[-1].startswith("null output (frames are discarded) works again")
    sent = inner.frames_sent
    _send_for(sink, clock, 1.0)
    assert inner.frames_sent == sent + 30  # every frame again
    sink.close()
    with pytest.raises(SinkError, match="closed"):
        sink.send(FRAME)  # a closed sink is never reopened behind the caller's back
    assert len(inner.open_times) == 5  # the start, three failed tries and the one that worked


def test_a_sink_that_cannot_open_at_start_is_retried_when_asked() -> None:
    clock = FakeClock()
    inner = FlakySink(clock)
    inner.open_failures = 2
    with pytest.raises(SinkError, match="busy"):
        ResilientSink(inner, clock).open(4, 4, 30)  # by default the caller hears about it
    sink = ResilientSink(inner, clock)
    sink.open(4, 4, 30, must_open=False)
    assert sink.status.state == "unavailable" and "device is busy" in sink.status.message
    assert "How to fix" not in sink.status.message  # one line for a status bar
    _send_for(sink, clock, 3.0)
    assert sink.status.state == "live" and inner.frames_sent > 0
    sink.close()


# --- the pipeline with the recording pyvirtualcam backend -----------------------------------
def _settings() -> Settings:
    settings = Settings()
    source = dataclasses.replace(settings.source, spec="demo", width_px=320, height_px=240)
    return dataclasses.replace(
        settings, source=source, effect=dataclasses.replace(settings.effect, kind="blur"),
        output=dataclasses.replace(settings.output, backend=RECORDING_BACKEND),
    )


class Preview:
    """Counts the frames the pipeline hands the preview."""

    def __init__(self) -> None:
        self.count = 0
        self.snapshot = StatsSnapshot()

    def __call__(self, _frame_bgr: np.ndarray, snapshot: StatsSnapshot) -> None:
        self.count += 1
        self.snapshot = snapshot


@pytest.fixture
def pipelines() -> Iterator[list[Pipeline]]:
    """Pipelines a test starts; stopped afterwards, and no thread may outlive them."""
    baseline = thread_baseline()
    started: list[Pipeline] = []
    yield started
    for pipeline in started:
        pipeline.stop()
    assert_no_threads_left(baseline)


def _start(
    pipelines: list[Pipeline], sink: FrameSink | None, sink_must_open: bool = True
) -> tuple[Pipeline, Preview]:
    preview = Preview()
    pipeline = Pipeline(_settings(), DemoSource(320, 240, 30.0), sink, on_frame=preview)
    pipelines.append(pipeline)
    pipeline.start(sink_must_open=sink_must_open)
    return pipeline, preview


def test_a_virtual_camera_that_fails_mid_run_is_reopened_by_itself(
    recording_vcam: VcamRecorder, pipelines: list[Pipeline]
) -> None:
    recording_vcam.fail_on_send(3)
    pipeline, preview = _start(pipelines, VirtualCamSink(RECORDING_BACKEND))
    _wait_until(lambda: pipeline.snapshot().sink_state == "lost", "the device fails")
    recording_vcam.fail_on_send_number = None  # the device is back
    shown = preview.count
    _wait_until(lambda: preview.count >= shown + 5, "the preview keeps running")
    _wait_until(lambda: len(recording_vcam.cameras) >= 2 and recording_vcam.last.frames_received
                >= 5, "the virtual camera is reopened and gets frames")
    _wait_until(lambda: pipeline.snapshot().sink_state == "live", "the status says live")
    assert recording_vcam.cameras[0].close_calls == 1  # the failed device was released
    assert any("device went away Retrying in 0.5 s" in m for m in pipeline.messages)
    assert any("works again" in m for m in pipeline.messages)
    assert pipeline.running and pipeline.error is None


def test_a_busy_virtual_camera_at_start_leaves_the_preview_running_and_is_retried(
    recording_vcam: VcamRecorder, pipelines: list[Pipeline]
) -> None:
    recording_vcam.fail_every_open(RuntimeError("device or resource busy"))
    pipeline, preview = _start(pipelines, VirtualCamSink(RECORDING_BACKEND), sink_must_open=False)
    _wait_until(lambda: preview.count >= 5, "the preview runs")
    snapshot = pipeline.snapshot()
    assert snapshot.sink_state == "unavailable"
    assert "device or resource busy" in snapshot.sink_message
    assert "device or resource busy" in snapshot.status_line()
    recording_vcam.open_error = None  # the other app let go of it
    _wait_until(lambda: bool(recording_vcam.cameras) and recording_vcam.last.frames_received >= 5,
                "the virtual camera gets frames")
    assert pipeline.snapshot().sink_state == "live"


def test_a_virtual_camera_turned_on_live_is_opened_and_retried_by_the_worker(
    recording_vcam: VcamRecorder, pipelines: list[Pipeline]
) -> None:
    pipeline, preview = _start(pipelines, None)
    _wait_until(lambda: preview.count >= 3, "the preview runs")
    assert pipeline.snapshot().sink_state == "none"
    recording_vcam.fail_every_open(RuntimeError("no loopback device"))
    pipeline.set_sink(VirtualCamSink(RECORDING_BACKEND), retry=True, opened=False)
    _wait_until(lambda: preview.snapshot.sink_state == "unavailable", "the status says why")
    assert "no loopback device" in preview.snapshot.sink_message
    recording_vcam.open_error = None
    _wait_until(lambda: bool(recording_vcam.cameras) and recording_vcam.last.frames_received >= 3,
                "the virtual camera gets frames")
    pipeline.set_sink(None)
    _wait_until(lambda: recording_vcam.last.close_calls == 1, "turning it off closes it")
    _wait_until(lambda: pipeline.snapshot().sink_state == "none", "the status says off")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a full disk)")
def test_a_file_output_on_a_full_disk_ends_the_run_naming_the_file_and_is_never_reopened(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    target = tmp_path / "recording.y4m"
    target.symlink_to("/dev/full")  # every write fails with "No space left on device"
    pipeline, _preview = _start(pipelines, VideoFileSink(target))
    assert pipeline.wait(20.0)  # going on would lose every frame: the run ends
    assert isinstance(pipeline.error, SinkError)
    assert "recording.y4m" in str(pipeline.error) and "No space left" in str(pipeline.error)
    assert sum("stopped" in m for m in pipeline.messages) == 1  # reopening would truncate it
