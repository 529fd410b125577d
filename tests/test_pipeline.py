"""The whole engine on the demo source: a pyvirtualcam test backend, files, live changes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.engine.cards import off_card
from app.engine.pipeline import Pipeline
from app.engine.session import open_pipeline
from app.settings import Settings
from tests.threads import assert_no_threads_left, thread_baseline
from tests.vcam_backend import (  # noqa: F401
    RECORDING_BACKEND,
    VcamRecorder,
    recording_vcam_fixture,
)
from tests.waiting import FrameCollector as _Frames
from tests.waiting import wait_until

GREEN_BGR = np.array([0, 200, 0])


def _settings(**effect: object) -> Settings:
    settings = Settings()
    source = dataclasses.replace(settings.source, spec="demo", width_px=640, height_px=360, fps=30)
    output = dataclasses.replace(settings.output, backend=RECORDING_BACKEND)
    return dataclasses.replace(
        settings, source=source, output=output,
        effect=dataclasses.replace(settings.effect, **effect),
    )


@pytest.fixture
def running() -> Iterator[list[Pipeline]]:
    """Pipelines a test starts; all stopped afterwards even when the test fails."""
    pipelines: list[Pipeline] = []
    yield pipelines
    for pipeline in pipelines:
        pipeline.stop()


def _corner_mean(frame_bgr: np.ndarray) -> np.ndarray:
    return frame_bgr[:40, :40].reshape(-1, 3).mean(axis=0)


def test_demo_frames_reach_the_virtual_camera_at_the_right_size_and_format(
    recording_vcam: VcamRecorder, running: list[Pipeline]
) -> None:
    pipeline = open_pipeline(_settings(kind="blur"), "virtualcam", max_frames=8)
    running.append(pipeline)
    assert pipeline.wait(30.0)
    assert pipeline.error is None
    camera = recording_vcam.last
    # The virtual camera sends the output size (default 1280x720) whatever the camera's size:
    # the 640x360 demo is scaled into it, once per session.
    assert (camera.width_px, camera.height_px) == (1280, 720)
    assert camera.pixel_format == "24BG"  # BGR, as OpenCV frames are
    assert camera.frames_received == 8
    assert camera.recent_frames[-1].shape == (720, 1280, 3)
    assert camera.close_calls == 1


def test_an_mp4_output_has_every_frame_at_the_right_size(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    pipeline = open_pipeline(_settings(kind="blur"), str(target), max_frames=12)
    try:
        assert pipeline.wait(30.0)
    finally:
        pipeline.stop()
    capture = cv2.VideoCapture(str(target))
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        assert frame.shape == (360, 640, 3)
        count += 1
    capture.release()
    assert count == 12


def test_a_colour_background_replaces_the_room_but_not_the_person(running: list[Pipeline]) -> None:
    frames = _Frames()
    pipeline = open_pipeline(_settings(kind="color", color_rgb=(0, 200, 0)), "null",
                             on_frame=frames)
    running.append(pipeline)
    frame = frames.wait_for(3)[-1]
    assert np.abs(_corner_mean(frame) - GREEN_BGR).max() < 6
    face = frame[60:140, 290:350].reshape(-1, 3).mean(axis=0)
    assert np.abs(face - GREEN_BGR).max() > 60


def test_settings_change_live_without_a_restart(running: list[Pipeline]) -> None:
    frames = _Frames()
    settings = _settings(kind="none")
    pipeline = open_pipeline(settings, "null", on_frame=frames)
    running.append(pipeline)
    before = frames.wait_for(3)[-1]
    assert np.abs(_corner_mean(before) - GREEN_BGR).max() > 40
    effect = dataclasses.replace(settings.effect, kind="color", color_rgb=(0, 200, 0))
    pipeline.update_settings(dataclasses.replace(settings, effect=effect))
    seen = len(frames.frames)
    after = frames.wait_for(seen + 3)[-1]
    assert np.abs(_corner_mean(after) - GREEN_BGR).max() < 6
    assert pipeline.running


def test_pause_sends_one_still_frame_until_resumed(
    recording_vcam: VcamRecorder, running: list[Pipeline]
) -> None:
    frames = _Frames()
    pipeline = open_pipeline(_settings(kind="blur"), "virtualcam", on_frame=frames)
    running.append(pipeline)
    frames.wait_for(3)
    pipeline.set_paused(True)
    camera = recording_vcam.last
    start = camera.frames_received
    frames.wait_for(len(frames.frames) + 6)
    stills = list(camera.recent_frames)[-3:]
    assert camera.frames_received >= start + 3
    assert all(np.array_equal(stills[0], still) for still in stills)
    assert not np.array_equal(stills[-1], frames.frames[-1])  # not the live view
    pipeline.set_paused(False)
    resumed_at = camera.frames_received
    frames.wait_for(len(frames.frames) + 4)
    assert camera.frames_received > resumed_at
    assert not np.array_equal(camera.recent_frames[-1], stills[-1])


def test_not_sending_keeps_the_sink_open_with_the_camera_off_card(
    recording_vcam: VcamRecorder, running: list[Pipeline]
) -> None:
    frames = _Frames()
    pipeline = open_pipeline(_settings(kind="blur"), "virtualcam", on_frame=frames)
    running.append(pipeline)
    frames.wait_for(3)
    pipeline.set_sending(False)
    camera = recording_vcam.last
    card = off_card(*pipeline.output_size)
    wait_until(lambda: all(np.array_equal(frame, card) for frame in list(camera.recent_frames)),
               "only the card reaches the virtual camera")
    assert camera.close_calls == 0
    live = frames.wait_for(len(frames.frames) + 3)
    assert not np.array_equal(live[-1], live[-3]), "the preview stays live"
    pipeline.set_sending(True)
    wait_until(lambda: not np.array_equal(camera.recent_frames[-1], card), "live frames again")


def test_a_failing_virtual_camera_stops_the_sink_not_the_preview(
    recording_vcam: VcamRecorder, running: list[Pipeline]
) -> None:
    recording_vcam.fail_on_send(3)
    frames = _Frames()
    pipeline = open_pipeline(_settings(kind="blur"), "virtualcam", on_frame=frames)
    running.append(pipeline)
    frames.wait_for(10)
    assert pipeline.running
    assert any("device went away" in message for message in pipeline.messages)
    assert "device went away" in pipeline.snapshot().message


def test_stop_joins_every_thread_it_started() -> None:
    baseline = thread_baseline()
    frames = _Frames()
    pipeline = open_pipeline(_settings(kind="blur"), "null", on_frame=frames)
    frames.wait_for(3)
    started_s = time.monotonic()
    pipeline.stop()
    assert time.monotonic() - started_s < 2.0
    assert_no_threads_left(baseline)  # MediaPipe's graph threads too, not only Python's


def test_stats_report_rates_and_latency(running: list[Pipeline]) -> None:
    frames = _Frames()
    pipeline = open_pipeline(_settings(kind="blur"), "null", on_frame=frames)
    running.append(pipeline)
    frames.wait_for(15)
    snapshot = pipeline.snapshot()
    assert snapshot.frames_out >= 15
    assert snapshot.output_fps > 0
    assert 0 < snapshot.latency_ms_p50 < 1000
    assert {"prepare", "smooth", "refine", "composite", "sink"} <= set(snapshot.stage_ms_p50)
    assert "fps out" in snapshot.status_line()


def test_the_preview_can_show_the_raw_camera_or_a_split_while_the_sink_gets_the_output(
    recording_vcam: VcamRecorder, running: list[Pipeline]
) -> None:
    frames = _Frames()
    pipeline = open_pipeline(_settings(kind="color", color_rgb=(0, 200, 0)), "virtualcam",
                             on_frame=frames)
    running.append(pipeline)
    frames.wait_for(3)
    pipeline.set_preview_mode("raw")
    raw = frames.wait_for(len(frames.frames) + 3)[-1]
    assert np.abs(_corner_mean(raw) - GREEN_BGR).max() > 40  # the room, not the green
    sent = recording_vcam.last.recent_frames[-1]
    assert np.abs(_corner_mean(sent) - GREEN_BGR).max() < 6  # the camera still gets green
    pipeline.set_preview_mode("split")
    split = frames.wait_for(len(frames.frames) + 3)[-1]
    assert np.abs(_corner_mean(split) - GREEN_BGR).max() > 40
    assert np.abs(split[:40, -40:].reshape(-1, 3).mean(axis=0) - GREEN_BGR).max() < 6
    with pytest.raises(ValueError, match="preview mode"):
        pipeline.set_preview_mode("sideways")


def test_a_long_run_keeps_no_per_frame_history_unless_asked(running: list[Pipeline]) -> None:
    frames = _Frames()
    pipeline = open_pipeline(_settings(kind="blur"), "null", on_frame=frames)
    running.append(pipeline)
    frames.wait_for(10)
    assert pipeline.stats.all_latencies_ms == []
    assert pipeline.stats.all_stage_ms == {}
    pipeline.stats.keep_history = True
    frames.wait_for(len(frames.frames) + 5)
    assert len(pipeline.stats.all_latencies_ms) >= 4


class _CountingSink:
    """A sink that only counts how often it was closed."""

    description = "counting sink"
    device = ""

    def __init__(self) -> None:
        self.closed = 0

    def open(self, width_px: int, height_px: int, fps: int) -> None:
        pass

    def send(self, frame_bgr: np.ndarray) -> None:
        pass

    def close(self) -> None:
        self.closed += 1


def test_a_sink_switched_away_before_it_was_used_is_still_closed() -> None:
    from app.devices.sources import open_source

    settings = _settings(kind="blur")
    pipeline = Pipeline(settings, open_source("demo", 640, 360, 30), None)
    first, second = _CountingSink(), _CountingSink()
    pipeline.set_sink(first)
    pipeline.set_sink(second)  # replaces the first before any frame used it
    assert first.closed == 1 and second.closed == 0
    pipeline.stop()  # never started: the pending sink is closed with everything else
    assert second.closed == 1
