"""Video backgrounds play at their own rate, whatever the camera's, loop, and decode off the
frame thread. Time is a fake clock; each call first waits for the decoder to have its frame."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.clock import FakeClock
from compositing.video import VideoBackground

VIDEO_FPS = 30.0
FRAME_COUNT = 8
LEVEL_STEP = 30  # frame i is a flat grey of level i * LEVEL_STEP


def _numbered_video(path: Path, frame_count: int = FRAME_COUNT) -> str:
    """A 30 fps clip whose frame i is grey level 30 * i, so a picture tells its index."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), VIDEO_FPS, (64, 48))
    assert writer.isOpened()
    for index in range(frame_count):
        writer.write(np.full((48, 64, 3), index * LEVEL_STEP, np.uint8))
    writer.release()
    return str(path)


def _frame_index(frame_bgr: np.ndarray) -> int:
    return round(float(frame_bgr.mean()) / LEVEL_STEP)


def _shown(background: VideoBackground, clock: FakeClock, rate_hz: float, calls: int) -> list[int]:
    """The source frame each of `calls` output frames shows, one every 1/rate_hz seconds."""
    indices = []
    for _ in range(calls):
        at_s = clock.now_s()
        assert background.wait_until_decoded(at_s, timeout_s=10.0)
        indices.append(_frame_index(background.frame(32, 24, at_s)))
        clock.advance(1.0 / rate_hz)
    return indices


@pytest.fixture(name="video")
def video_fixture(tmp_path: Path) -> VideoBackground:
    return VideoBackground(_numbered_video(tmp_path / "numbered.mp4"))


def test_a_15_fps_camera_sees_a_30_fps_background_advance_two_frames_a_call(
    video: VideoBackground,
) -> None:
    try:
        shown = _shown(video, FakeClock(100.0), 15.0, 10)
    finally:
        video.close()
    assert shown == [0, 2, 4, 6, 0, 2, 4, 6, 0, 2]  # real speed, looping at the end


def test_a_60_hz_output_shows_each_background_frame_twice(video: VideoBackground) -> None:
    try:
        shown = _shown(video, FakeClock(), 60.0, 20)
    finally:
        video.close()
    assert shown == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 1, 1]


def test_the_background_loops_seamlessly_at_its_own_rate(video: VideoBackground) -> None:
    try:
        shown = _shown(video, FakeClock(), 30.0, 2 * FRAME_COUNT + 3)
    finally:
        video.close()
    assert shown == [*range(FRAME_COUNT), *range(FRAME_COUNT), 0, 1, 2]


def test_after_a_long_gap_the_background_carries_on_instead_of_jumping(
    video: VideoBackground,
) -> None:
    clock = FakeClock()
    try:
        before = _shown(video, clock, 30.0, 3)
        clock.advance(60.0)  # the camera was lost for a minute: nobody saw the background
        after = _shown(video, clock, 30.0, 2)
    finally:
        video.close()
    assert before + after == [0, 1, 2, 3, 4]


def test_frames_are_read_only_and_cover_fitted(video: VideoBackground) -> None:
    try:
        frame = video.frame(100, 40, at_s=0.0)
        assert video.wait_until_decoded(0.5, timeout_s=10.0)
        later = video.frame(100, 40, at_s=0.5)
    finally:
        video.close()
    assert frame.shape == later.shape == (40, 100, 3)
    assert not frame.flags.writeable and not later.flags.writeable


def test_close_joins_the_decoder_and_the_last_frame_stays(video: VideoBackground) -> None:
    before = set(threading.enumerate())
    video.frame(32, 24, at_s=0.0)
    assert video.wait_until_decoded(0.1, timeout_s=10.0)
    assert set(threading.enumerate()) - before, "the decoder runs on its own thread"
    shown = _frame_index(video.frame(32, 24, at_s=0.1))
    video.close()
    assert set(threading.enumerate()) <= before
    assert _frame_index(video.frame(32, 24, at_s=0.5)) == shown
