"""Frame sources: the spec parser, video files paced by a fake clock, cameras behind a fake
capture, and the messages a user sees when a source cannot be used."""

from __future__ import annotations

import queue
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

import app.devices.sources
from app.clock import FakeClock
from app.devices.camera import (
    DEV_DIR_ENV,
    SYSFS_VIDEO_DIR_ENV,
    CameraInfo,
    CameraSource,
)
from app.devices.camera_list import list_cameras
from app.devices.demo import DemoSource
from app.devices.frames import Frame, SourceError
from app.devices.sources import VideoFileSource, open_source
from tests.fake_machine import FakeLinux, linux_fixture  # noqa: F401 - linux_fixture is one
from tests.threads import assert_no_threads_left, thread_baseline
from tests.waiting import wait_until

_FILE_FRAMES = 20
_FILE_FPS = 10.0
_COLOUR_STEP = 12


def _write_video(path: Path, frame_count: int = _FILE_FRAMES) -> Path:
    """A small MJPG video whose frame i is a flat colour that encodes i."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), _FILE_FPS, (64, 48))
    assert writer.isOpened()
    for index in range(frame_count):
        writer.write(np.full((48, 64, 3), _colour_of(index), np.uint8))
    writer.release()
    return path


def _colour_of(index: int) -> tuple[int, int, int]:
    return (index * _COLOUR_STEP, 128, 255 - index * _COLOUR_STEP)


def _content_index(frame: Frame | None) -> int:
    """Which frame of the file a decoded frame shows."""
    assert frame is not None
    return round(float(frame.image_bgr[..., 0].mean()) / _COLOUR_STEP)


@pytest.fixture
def video_path(tmp_path: Path) -> Path:
    return _write_video(tmp_path / "clip.avi")


def _open_file(path: Path, clock: FakeClock, **options: bool) -> VideoFileSource:
    source = VideoFileSource(path, clock, **options)
    source.open()
    return source


def test_unpaced_file_returns_every_frame_in_order_then_finishes(video_path: Path) -> None:
    source = _open_file(video_path, FakeClock(), loop=False, paced=False)
    assert (source.width_px, source.height_px, source.fps) == (64, 48, _FILE_FPS)
    frames = [source.read() for _ in range(_FILE_FRAMES)]
    assert [_content_index(frame) for frame in frames] == list(range(_FILE_FRAMES))
    assert not source.finished
    assert source.read() is None
    assert source.finished
    source.close()


def test_unpaced_looping_file_starts_again_at_the_end(video_path: Path) -> None:
    source = _open_file(video_path, FakeClock(), loop=True, paced=False)
    frames = [source.read() for _ in range(_FILE_FRAMES + 5)]
    shown = [_content_index(frame) for frame in frames]
    assert shown == list(range(_FILE_FRAMES)) + list(range(5))
    assert [frame.index for frame in frames if frame] == list(range(_FILE_FRAMES + 5))
    source.close()


def test_paced_file_shows_the_frame_due_now_and_skips_the_missed_ones(video_path: Path) -> None:
    clock = FakeClock()
    source = _open_file(video_path, clock)
    assert _content_index(source.read()) == 0
    clock.advance(0.25)
    late = source.read()
    assert _content_index(late) == 2 and late is not None and late.index == 2
    assert source.dropped_frames == 1
    next_frame = source.read()  # frame 3 is due at 0.3 s: the source waits for it
    assert _content_index(next_frame) == 3
    assert clock.now_s() == pytest.approx(0.3)
    clock.advance(2.0)  # 2.3 s: frame 23 of the loop, which is frame 3 of the file again
    looped = source.read()
    assert looped is not None and looped.index == 23 and _content_index(looped) == 3
    source.close()


def test_paced_file_read_times_out_when_no_frame_is_due(video_path: Path) -> None:
    clock = FakeClock()
    source = _open_file(video_path, clock)
    source.read()
    assert source.read(timeout_s=0.02) is None
    assert clock.slept_s == [pytest.approx(0.02)]
    source.close()


def test_paced_file_without_loop_finishes(video_path: Path) -> None:
    clock = FakeClock()
    source = _open_file(video_path, clock, loop=False)
    clock.advance(5.0)
    assert source.read() is None and source.finished
    source.close()


def test_a_missing_file_is_named_in_the_error(tmp_path: Path) -> None:
    missing = tmp_path / "holiday.mp4"
    with pytest.raises(SourceError, match="not found: .*holiday.mp4"):
        VideoFileSource(missing).open()


def test_a_file_that_is_not_a_video_is_named_in_the_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    with pytest.raises(SourceError, match="garbage.mp4"):
        VideoFileSource(garbage).open()


def test_a_video_without_frames_is_named_in_the_error(tmp_path: Path) -> None:
    empty = _write_video(tmp_path / "empty.avi", frame_count=0)
    with pytest.raises(SourceError, match="empty.avi"):
        VideoFileSource(empty).open()


def test_open_source_understands_every_kind_of_spec(
    video_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    demo = open_source(" Demo ", 640, 360, 25.0, clock)
    assert isinstance(demo, DemoSource) and (demo.width_px, demo.height_px, demo.fps) == (
        640, 360, 25.0,
    )
    camera = open_source("camera", 640, 360, 30.0, clock)
    assert isinstance(camera, CameraSource) and camera.name == "camera 0"
    assert open_source("camera:2", clock=clock).name == "camera 2"
    assert open_source("/dev/video3", clock=clock).name == "/dev/video3"
    video = open_source(str(video_path), clock=clock, paced=False)
    assert isinstance(video, VideoFileSource) and video.name == "clip.avi"

    monkeypatch.setattr(app.devices.sources, "list_cameras", lambda: [])
    assert isinstance(open_source("auto", clock=clock), DemoSource)
    found = [CameraInfo(2, "USB camera", "/dev/video2")]
    monkeypatch.setattr(app.devices.sources, "list_cameras", lambda: found)
    assert open_source("auto", clock=clock).name == "camera 2"


def test_unknown_specs_list_what_is_accepted() -> None:
    with pytest.raises(SourceError, match="no-such-thing.*Accepted.*demo.*camera:N.*video file"):
        open_source("no-such-thing")
    with pytest.raises(SourceError, match="camera:0"):
        open_source("camera:front")


def test_a_missing_camera_suggests_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DEV_DIR_ENV, str(tmp_path))  # a machine without /dev/video*
    with pytest.raises(SourceError, match=r"No camera found at index 0\..*--source demo"):
        open_source("camera").open()


def test_a_camera_that_does_not_open_suggests_the_demo() -> None:
    source = CameraSource(1, capture_factory=lambda _device, _api: FakeCapture(opened=False))
    with pytest.raises(SourceError, match="index 1.*--source demo"):
        source.open()


class FakeCapture:
    """A camera driver stand-in: read() hands out pushed pictures, blocking briefly when empty."""

    def __init__(self, opened: bool = True) -> None:
        self.opened = opened
        self.requested: dict[int, float] = {}
        self.released = False
        self._pictures: queue.Queue[np.ndarray] = queue.Queue()
        self._progress = threading.Condition()
        self._delivered = 0
        self._waiting_after_delivery = False

    def push(self, *pictures: np.ndarray) -> None:
        for picture in pictures:
            self._pictures.put(picture)

    def wait_until_delivered(self, count: int) -> None:
        """Block until `count` pictures were read and the reader came back for more."""
        with self._progress:
            assert self._progress.wait_for(
                lambda: self._delivered >= count and self._waiting_after_delivery, timeout=5.0
            )

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        with self._progress:
            self._waiting_after_delivery = True
            self._progress.notify_all()
        try:
            picture = self._pictures.get(timeout=0.02)
        except queue.Empty:
            return False, None
        with self._progress:
            self._delivered += 1
            self._waiting_after_delivery = False
        return True, picture

    def set(self, prop_id: int, value: float) -> bool:
        self.requested[prop_id] = value
        return True

    def get(self, prop_id: int) -> float:
        return 30.0 if prop_id == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self.released = True


def _picture(value: int) -> np.ndarray:
    return np.full((48, 64, 3), value, np.uint8)


def _camera(capture: FakeCapture, clock: FakeClock) -> CameraSource:
    return CameraSource(0, 1280, 720, 30.0, clock, capture_factory=lambda _d, _api: capture)


def test_camera_hands_out_the_newest_frame_and_counts_the_dropped_ones() -> None:
    clock, capture = FakeClock(start_s=5.0), FakeCapture()
    capture.push(_picture(0))
    source = _camera(capture, clock)
    source.open()
    assert capture.requested[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter.fourcc(*"MJPG")
    assert (capture.requested[cv2.CAP_PROP_FRAME_WIDTH], source.width_px) == (1280, 64)
    first = source.read(timeout_s=5.0)
    assert first is not None and first.index == 0 and first.captured_s == 5.0
    capture.push(_picture(10), _picture(20), _picture(30))
    capture.wait_until_delivered(4)
    newest = source.read(timeout_s=5.0)
    assert newest is not None and newest.index == 3 and newest.image_bgr[0, 0, 0] == 30
    assert source.dropped_frames == 2
    assert source.read(timeout_s=0.05) is None  # nothing newer yet: no stale repeat
    source.close()


def test_camera_reports_when_it_stops_sending_pictures() -> None:
    clock, capture = FakeClock(), FakeCapture()
    capture.push(_picture(0))
    source = _camera(capture, clock)
    source.open()
    assert source.read(timeout_s=5.0) is not None
    clock.advance(10.0)  # long silence: the camera was unplugged
    with pytest.raises(SourceError, match="stopped sending pictures"):
        source.read(timeout_s=5.0)
    source.close()


def test_camera_close_joins_its_thread_and_releases_the_device() -> None:
    baseline = thread_baseline()
    capture = FakeCapture()
    capture.push(_picture(0))
    source = _camera(capture, FakeClock())
    source.open()
    assert len(baseline.python_left()) == 1
    source.close()
    source.close()
    assert capture.released
    assert_no_threads_left(baseline)


def test_camera_that_sends_no_first_picture_says_so() -> None:
    capture = FakeCapture()
    source = _camera(capture, FakeClock())
    with pytest.raises(SourceError, match="sent no picture.*--source demo"):
        source.open()
    assert capture.released


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sysfs listing is Linux only")
def test_linux_cameras_are_listed_from_sysfs_names_and_existing_devices(tmp_path: Path) -> None:
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    dev.mkdir()
    for number, name in ((2, "USB Camera"), (0, "Integrated Camera"), (5, "Unplugged")):
        (sysfs / f"video{number}").mkdir(parents=True)
        (sysfs / f"video{number}" / "name").write_text(name + "\n")
    (dev / "video0").touch()
    (dev / "video2").touch()
    cameras = list_cameras(sysfs_dir=sysfs, dev_dir=dev)
    assert cameras == [
        CameraInfo(0, "Integrated Camera", str(dev / "video0")),
        CameraInfo(2, "USB Camera", str(dev / "video2")),
    ]
    assert list_cameras(sysfs_dir=tmp_path / "nothing", dev_dir=dev) == []


class StuckCapture:
    """A driver whose read() hangs after the first picture until the test lets it go; it
    records reads that were still running when release() came."""

    def __init__(self) -> None:
        self.let_go = threading.Event()
        self.in_read = threading.Event()
        self.reads = 0
        self.releases = 0
        self.released_during_read = False
        self._reading = False

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        if self.reads > 1:
            self._reading = True
            self.in_read.set()
            self.let_go.wait(10.0)
            self._reading = False
        return True, np.zeros((48, 64, 3), np.uint8)

    def set(self, prop_id: int, value: float) -> bool:
        return True

    def get(self, prop_id: int) -> float:
        return 30.0 if prop_id == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self.releases += 1
        self.released_during_read = self.released_during_read or self._reading


def test_a_camera_stuck_in_a_read_is_released_once_by_its_reader_never_under_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app.devices.camera, "_CAMERA_JOIN_TIMEOUT_S", 0.05)
    stuck = StuckCapture()
    camera = CameraSource(0, 64, 48, 30.0, capture_factory=lambda _device, _api: stuck)
    camera.open()
    assert stuck.in_read.wait(5.0)
    camera.close()  # gives up waiting for the stuck read
    camera.close()  # a second close once released the capture under the running read
    assert stuck.releases == 0
    stuck.let_go.set()
    wait_until(lambda: stuck.releases > 0, "the reader released the camera as it ended")
    assert stuck.releases == 1 and not stuck.released_during_read


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sysfs listing is Linux only")
def test_the_device_folders_can_be_moved_so_tests_see_the_same_cameras_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    (sysfs / "video4").mkdir(parents=True)
    (sysfs / "video4" / "name").write_text("Fake Camera\n")
    dev.mkdir()
    (dev / "video4").touch()
    monkeypatch.setenv(SYSFS_VIDEO_DIR_ENV, str(sysfs))
    monkeypatch.setenv(DEV_DIR_ENV, str(dev))
    assert list_cameras() == [CameraInfo(4, "Fake Camera", str(dev / "video4"))]
    (dev / "video4").unlink()
    with pytest.raises(SourceError, match=r"No camera found at index 4\..*--source demo"):
        open_source("camera:4").open()


# --- virtual cameras named by hand (Linux) ------------------------------------------------------
@pytest.fixture
def fake_cameras(linux: FakeLinux, monkeypatch: pytest.MonkeyPatch) -> FakeLinux:
    """The fake machine's sysfs and /dev are where open_source looks for cameras."""
    monkeypatch.setenv(SYSFS_VIDEO_DIR_ENV, str(linux.video))
    monkeypatch.setenv(DEV_DIR_ENV, str(linux.dev))
    return linux


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2loopback is Linux only")
def test_a_loopback_device_typed_as_the_camera_is_refused_naming_the_real_ones(
    fake_cameras: FakeLinux
) -> None:
    webcam = fake_cameras.camera(0, "Integrated Camera")
    backdrop = fake_cameras.device(2, "Backdrop")
    fake_cameras.device(3, "OBS Cam")
    with pytest.raises(SourceError) as refused:
        open_source("camera:2")
    message = str(refused.value)
    assert message.startswith(f"'camera:2' is {backdrop}, the virtual camera “Backdrop” (a "
                              "v4l2loopback device), not a real camera")
    assert "perhaps Backdrop's own" in message
    assert message.endswith(f"Real cameras here: camera:0 “Integrated Camera” ({webcam}).")
    with pytest.raises(SourceError, match="'/dev/video3' is /dev/video3, the virtual camera "
                                          "“OBS Cam”"):
        open_source("/dev/video3")  # sysfs names the node by its name, wherever /dev is
    assert open_source("camera:0").name == "camera 0"
    assert [camera.name for camera in list_cameras()] == ["Integrated Camera"], (
        "a loopback device is left out of the list even under a name nobody knows")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2loopback is Linux only")
def test_with_no_real_camera_the_refusal_says_so_and_auto_waits_past_the_loopback(
    fake_cameras: FakeLinux
) -> None:
    fake_cameras.device(0, "Backdrop")
    with pytest.raises(SourceError, match="No real camera is connected now; `--source demo`"):
        open_source("camera")
    waiting = open_source("auto", demo_if_no_camera=False)
    assert isinstance(waiting, CameraSource) and waiting.name == "camera 1", (
        "the number the next camera plugged in gets, never Backdrop's own device at video0")
