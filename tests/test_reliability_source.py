"""A camera that disappears mid-run: the output never freezes, and Backdrop reconnects by itself.

Unit tests drive `ResilientSource` with a camera that fails on cue and a fake clock (no
sleeping); the pipeline test pulls the cable of a real `CameraSource` behind a fake capture.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from app.clock import FakeClock
from app.devices.camera import CameraSource
from app.devices.frames import Frame, SourceError
from app.devices.links import CARD_BGR, LOST_CAPTION, Backoff
from app.devices.resilience import ResilientSource, SubstituteFrame
from app.devices.sinks import VirtualCamSink
from app.engine.pipeline import Pipeline
from app.settings import Settings
from tests.threads import assert_no_threads_left, thread_baseline
from tests.vcam_backend import (  # noqa: F401
    RECORDING_BACKEND,
    VcamRecorder,
    recording_vcam_fixture,
)
from tests.waiting import wait_until as _wait_until

FPS = 10.0
WIDTH_PX, HEIGHT_PX = 320, 180


def _checkerboard(level: int) -> np.ndarray:
    """A frame with fine detail (so a blurred copy is easy to tell apart)."""
    tiles = (np.indices((HEIGHT_PX, WIDTH_PX)).sum(axis=0) // 4) % 2  # diagonal stripes
    frame = np.where(tiles[..., None] == 1, 200, 40).astype(np.uint8).repeat(3, axis=2)
    return cv2.add(frame, np.full_like(frame, level))


def _detail(frame_bgr: np.ndarray) -> float:
    """Mean absolute Laplacian: how much fine detail a frame has."""
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F)).mean())


class FlakyCamera:
    """A FrameSource that can be unplugged, frozen or made to hang in open(), on cue."""

    name = "test camera"

    def __init__(self, clock: FakeClock) -> None:
        self.width_px, self.height_px, self.fps = WIDTH_PX, HEIGHT_PX, FPS
        self.clock = clock
        self.plugged = True
        self.frozen = False
        self.hang_open: threading.Event | None = None
        self.open_times: list[float] = []
        self.close_calls = 0
        self.is_open = False
        self._index = 0

    def open(self) -> None:
        self.open_times.append(self.clock.now_s())
        if self.hang_open is not None:
            self.hang_open.wait(10.0)
        if not self.plugged:
            raise SourceError("No camera found at index 0. Connect a camera.")
        self.is_open = True

    def read(self, timeout_s: float = 1.0) -> Frame | None:
        assert self.is_open, "read() on a closed camera"
        if not self.plugged:
            raise SourceError("The camera at index 0 stopped sending pictures.")
        self.clock.sleep(1.0 / self.fps)
        if self.frozen:
            return None
        self._index += 1
        return Frame(_checkerboard(self._index % 20), self.clock.now_s(), self._index)

    def close(self) -> None:
        self.close_calls += 1
        self.is_open = False


def _read(source: ResilientSource, count: int) -> list[Frame]:
    """`count` frames, letting each reconnection attempt finish before time moves on."""
    frames = []
    for _ in range(count):
        frame = source.read(1.0)
        assert source.settle(5.0)
        if frame is not None:
            frames.append(frame)
    return frames


@pytest.fixture
def no_leftover_threads() -> Iterator[None]:
    baseline = thread_baseline()
    yield
    assert_no_threads_left(baseline)


def test_backoff_doubles_up_to_the_cap_and_starts_over_once_the_device_kept_working() -> None:
    clock = FakeClock()
    backoff = Backoff(clock, initial_s=0.5, max_s=8.0, stable_s=5.0)
    delays = [backoff.failed() for _ in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert not backoff.ready()
    clock.advance(7.9)
    assert not backoff.ready() and backoff.remaining_s() == pytest.approx(0.1)
    clock.advance(0.1)
    assert backoff.ready()
    backoff.succeeded()
    clock.advance(1.0)  # failed again soon after reconnecting: keep backing off
    assert backoff.failed() == 8.0
    backoff.succeeded()
    clock.advance(5.0)  # worked for a while: a new failure starts with a short delay
    assert backoff.failed() == 0.5


def test_a_pulled_camera_gives_blurred_captioned_stills_at_its_rate_then_comes_back(
    no_leftover_threads: None,
) -> None:
    clock = FakeClock()
    camera = FlakyCamera(clock)
    source = ResilientSource(camera, clock)
    source.open()
    live = _read(source, 5)
    assert not any(isinstance(frame, SubstituteFrame) for frame in live)

    camera.plugged = False
    lost = _read(source, 80)  # eight seconds of camera time
    assert len(lost) == 80 and all(isinstance(frame, SubstituteFrame) for frame in lost)
    assert all(frame.caption == LOST_CAPTION for frame in lost)  # type: ignore[attr-defined]
    gaps = np.diff([frame.captured_s for frame in lost])
    assert gaps == pytest.approx(np.full(len(gaps), 1.0 / FPS))  # the camera's rate
    still = lost[0].image_bgr
    assert all(np.array_equal(frame.image_bgr, still) for frame in lost)
    assert _detail(still) < _detail(live[-1].image_bgr) / 4  # blurred
    top = slice(0, HEIGHT_PX // 4)  # above the caption: the same scene, only blurred
    assert abs(float(still[top].mean()) - float(live[-1].image_bgr[top].mean())) < 10
    status = source.status
    assert status.state == "lost" and "Camera lost" in status.message
    assert "No camera found" in status.message  # why the last attempt failed
    assert source.messages == [
        "Camera lost: The camera at index 0 stopped sending pictures. Backdrop sends a still "
        "picture and reconnects."
    ]

    attempts = camera.open_times[1:]  # the first open was the normal start
    waits = np.diff(attempts)
    assert len(attempts) == 5  # at once, then after 0.5, 1, 2 and 4 s
    assert waits == pytest.approx([0.5, 1.0, 2.0, 4.0], abs=1.0 / FPS + 1e-9)
    assert all(waits >= [0.5, 1.0, 2.0, 4.0])  # never earlier than the backoff says

    camera.plugged = True
    back = _read(source, 100)  # the next attempt is 8 s after the last
    assert not isinstance(back[-1], SubstituteFrame)
    assert source.status.state == "live" and source.recoveries == 1
    assert source.messages[-1] == "test camera is back."
    source.close()
    assert not camera.is_open


def test_a_camera_that_stops_sending_without_an_error_is_reopened(
    no_leftover_threads: None,
) -> None:
    clock = FakeClock()
    camera = FlakyCamera(clock)
    source = ResilientSource(camera, clock, stall_s=2.0)
    source.open()
    _read(source, 3)
    camera.frozen = True
    assert _read(source, 25) == []  # 2.5 s of nothing from the camera
    assert "sent no picture for 2 s" in source.messages[0]
    assert camera.close_calls == 1 and len(camera.open_times) == 2  # closed and reopened
    camera.frozen = False
    frames = _read(source, 5)
    assert frames and not any(isinstance(frame, SubstituteFrame) for frame in frames)
    assert source.status.state == "live"
    source.close()


def test_a_file_that_ended_is_not_a_lost_camera() -> None:
    clock = FakeClock()

    class EndedFile(FlakyCamera):
        finished = True

        def read(self, timeout_s: float = 1.0) -> Frame | None:
            self.clock.sleep(timeout_s)
            return None

    source = ResilientSource(EndedFile(clock), clock)
    source.open()
    assert _read(source, 10) == []
    assert source.finished and source.status.state == "live" and source.messages == []


def test_close_does_not_wait_for_a_camera_that_hangs_while_reconnecting(
    no_leftover_threads: None,
) -> None:
    clock = FakeClock()
    camera = FlakyCamera(clock)
    source = ResilientSource(camera, clock, attempt_join_s=0.05)
    source.open()
    _read(source, 2)
    camera.hang_open = threading.Event()
    camera.plugged = False
    assert isinstance(source.read(), SubstituteFrame)  # the attempt now hangs in open()
    source.close()
    assert camera.hang_open is not None and not camera.hang_open.is_set()  # close returned
    camera.plugged = True
    camera.hang_open.set()  # the driver returns: the camera opened for nobody is closed
    deadline_s = time.monotonic() + 5.0
    while (camera.is_open or camera.close_calls < 2) and time.monotonic() < deadline_s:
        time.sleep(0.01)
    assert not camera.is_open and camera.close_calls == 2


# --- the whole pipeline, with a real CameraSource whose cable is pulled ----------------------
class Cable:
    plugged = True
    size_px = (320, 240)  # what the camera delivers (it may come back at another size)


class UsbCapture:
    """A cv2.VideoCapture stand-in for a USB webcam whose cable can be pulled."""

    def __init__(self, cable: Cable) -> None:
        self._cable = cable
        self._count = 0

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self._cable.plugged

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self._cable.plugged:
            time.sleep(0.005)
            return False, None
        time.sleep(1.0 / 30.0)
        self._count += 1
        width_px, height_px = self._cable.size_px
        frame = np.full((height_px, width_px, 3), 90, np.uint8)
        cv2.circle(frame, (width_px // 2, height_px // 2 - 10 + self._count % 8), 60,
                   (60, 120, 200), -1)
        return True, frame

    def set(self, prop_id: int, value: float) -> bool:
        return True

    def get(self, prop_id: int) -> float:
        return 30.0 if prop_id == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        pass


def test_the_virtual_camera_keeps_getting_frames_while_the_camera_is_unplugged_and_back(
    recording_vcam: VcamRecorder, no_leftover_threads: None
) -> None:
    cable = Cable()
    camera = CameraSource(0, 320, 240, 30.0, capture_factory=lambda _d, _a: UsbCapture(cable))
    settings = Settings()
    settings = dataclasses.replace(
        settings, effect=dataclasses.replace(settings.effect, kind="blur"),
        mask=dataclasses.replace(settings.mask, model="general"),
    )
    sink = VirtualCamSink(RECORDING_BACKEND)
    pipeline = Pipeline(settings, ResilientSource(camera, stall_s=0.3), sink)
    pipeline.start()
    try:
        _wait_until(lambda: pipeline.snapshot().frames_out >= 5, "the first frames")
        vcam = recording_vcam.last
        cable.plugged = False
        _wait_until(lambda: pipeline.snapshot().source_state == "lost", "the camera is lost")
        received = vcam.frames_received
        _wait_until(lambda: vcam.frames_received >= received + 10, "stills keep coming")
        stills = list(vcam.recent_frames)
        assert all(np.array_equal(stills[0], still) for still in stills)
        snapshot = pipeline.snapshot()
        assert "Camera lost" in snapshot.status_line()
        assert "No camera found" in snapshot.source_message
        assert any(m.startswith("Camera lost:") for m in pipeline.messages)

        cable.plugged = True
        _wait_until(lambda: pipeline.snapshot().source_state == "live", "the camera is back")
        received = vcam.frames_received
        _wait_until(lambda: vcam.frames_received >= received + 5, "live frames again")
        assert not np.array_equal(vcam.recent_frames[-1], stills[0])
        assert "camera 0 is back." in pipeline.messages
        assert pipeline.running and pipeline.error is None
    finally:
        pipeline.stop()
    assert vcam.close_calls == 1


def _card_share(frame_bgr: np.ndarray) -> float:
    """How much of a frame is the plain 'camera unavailable' card's colour."""
    return float((np.abs(frame_bgr.astype(int) - CARD_BGR).max(axis=2) < 24).mean())


def _blur_settings() -> Settings:
    settings = Settings()
    return dataclasses.replace(
        settings, effect=dataclasses.replace(settings.effect, kind="blur"),
        mask=dataclasses.replace(settings.mask, model="general"),
    )


def test_a_camera_held_by_another_app_at_start_sends_the_unavailable_card_then_the_camera(
    recording_vcam: VcamRecorder, no_leftover_threads: None
) -> None:
    """The window once fell back to the demo, and the meeting saw the demo astronaut."""
    cable = Cable()
    cable.plugged = False  # another app has it
    camera = CameraSource(0, 320, 240, 30.0, capture_factory=lambda _d, _a: UsbCapture(cable))
    pipeline = Pipeline(_blur_settings(), ResilientSource(camera, stall_s=0.3),
                        VirtualCamSink(RECORDING_BACKEND), output_size=(320, 240))
    pipeline.start(source_must_open=False)
    try:
        _wait_until(lambda: bool(recording_vcam.cameras)
                    and recording_vcam.last.frames_received >= 5, "cards reach the meeting")
        vcam = recording_vcam.last
        assert pipeline.snapshot().source_state == "unavailable"
        assert _card_share(vcam.recent_frames[-1]) > 0.8
        assert any(m.startswith("Camera unavailable:") for m in pipeline.messages)
        cable.plugged = True  # the other app let go
        _wait_until(lambda: pipeline.snapshot().source_state == "live", "the camera is used",
                    timeout_s=30.0)
        received = vcam.frames_received
        _wait_until(lambda: vcam.frames_received >= received + 5, "camera frames")
        assert _card_share(vcam.recent_frames[-1]) < 0.2
    finally:
        pipeline.stop()


def test_a_camera_that_comes_back_at_another_size_is_fitted_into_the_virtual_camera(
    recording_vcam: VcamRecorder, no_leftover_threads: None
) -> None:
    """It was refused frame after frame while the sink reopened at the old size: an endless
    'lost, retrying' loop."""
    cable = Cable()
    camera = CameraSource(0, 320, 240, 30.0, capture_factory=lambda _d, _a: UsbCapture(cable))
    pipeline = Pipeline(_blur_settings(), ResilientSource(camera, stall_s=0.3),
                        VirtualCamSink(RECORDING_BACKEND))
    pipeline.start()
    try:
        _wait_until(lambda: pipeline.snapshot().frames_out >= 5, "the first frames")
        vcam = recording_vcam.last
        cable.plugged = False
        _wait_until(lambda: pipeline.snapshot().source_state == "lost", "the camera is lost")
        cable.size_px = (640, 480)
        cable.plugged = True
        _wait_until(lambda: pipeline.snapshot().source_state == "live", "the camera is back")
        received = vcam.frames_received
        _wait_until(lambda: vcam.frames_received >= received + 10, "frames at the new size")
        assert vcam.recent_frames[-1].shape == (240, 320, 3)
        assert len(recording_vcam.cameras) == 1 and vcam.close_calls == 0
        assert pipeline.snapshot().sink_state == "live"
    finally:
        pipeline.stop()
