"""Webcams: a reader thread that keeps only the newest frame, and what describes a camera
(`CameraInfo`, `CameraMode`). The list of cameras is in `camera_list`, their modes in
`camera_modes`."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from app.clock import Clock, SystemClock
from app.devices.frames import (
    PLAUSIBLE_FPS_RANGE,
    CaptureFactory,
    Frame,
    SourceError,
    VideoCaptureLike,
    as_bgr,
)

_DEMO_HINT = "try `backdrop run --source demo` to see Backdrop without one"
# Where Linux lists cameras. These variables move both, so that the end-to-end tests see the
# same devices (none) on every machine, with or without a webcam or a loopback device.
DEV_DIR_ENV = "BACKDROP_DEV_DIR"
SYSFS_VIDEO_DIR_ENV = "BACKDROP_SYSFS_VIDEO_DIR"
# A camera that delivers nothing for this long is treated as gone (unplugged, taken).
_CAMERA_STALL_S = 5.0
_CAMERA_RETRY_WAIT_S = 0.01
# How often a paused reader looks whether it may read again.
_PAUSED_POLL_S = 0.05
# Longest a blocked camera read can hold up close(); V4L2 reads time out well before.
_CAMERA_JOIN_TIMEOUT_S = 12.0


@dataclass(frozen=True)
class CameraMode:
    """A capture size a camera offers and its frame rates (ascending). `guessed` means the
    camera could not be asked: a common size it may not have (the driver picks the nearest)."""

    width_px: int
    height_px: int
    fps_options: tuple[float, ...]
    guessed: bool = False


def camera_backend(platform: str | None = None) -> int:
    """The OpenCV capture API Backdrop lists and opens cameras with on `platform` (this one by
    default). DirectShow on Windows: it opens in a fraction of MSMF's time, and lists the same
    cameras by the same names."""
    platform = platform or sys.platform
    if platform.startswith("linux"):
        return int(cv2.CAP_V4L2)
    if platform == "win32":
        return int(cv2.CAP_DSHOW)
    if platform == "darwin":
        return int(cv2.CAP_AVFOUNDATION)
    return int(cv2.CAP_ANY)


@dataclass(frozen=True)
class CameraInfo:
    """A camera the user can pick: `camera:<index>` or its device `path` (may be empty), opened
    with the OpenCV API `backend` that gave it that index. `modes` is empty unless someone
    asked the camera (see `camera_modes`)."""

    index: int
    name: str
    path: str
    modes: tuple[CameraMode, ...] = ()
    backend: int = field(default_factory=camera_backend)


def device_dir() -> Path:
    """Where the /dev/videoN nodes are: /dev, unless $BACKDROP_DEV_DIR says otherwise."""
    return Path(os.environ.get(DEV_DIR_ENV) or "/dev")


def sysfs_video_dir() -> Path:
    """Where sysfs names the video devices, unless $BACKDROP_SYSFS_VIDEO_DIR says otherwise."""
    return Path(os.environ.get(SYSFS_VIDEO_DIR_ENV) or "/sys/class/video4linux")


def _open_cv_capture(index_or_path: int | str, backend: int) -> VideoCaptureLike:
    capture: VideoCaptureLike = cv2.VideoCapture(index_or_path, backend)
    return capture


class CameraSource:
    """A webcam read by a thread that keeps only the newest frame (older ones are dropped).

    `backend` is the OpenCV API whose index `index_or_path` is (`camera_backend()` by default):
    the one that listed the camera, so the camera opened is the one whose name was shown.
    `dropped_frames` counts frames the consumer never saw because a newer one replaced them.
    """

    def __init__(
        self,
        index_or_path: int | str,
        width_px: int = 1280,
        height_px: int = 720,
        fps: float = 30.0,
        clock: Clock | None = None,
        capture_factory: CaptureFactory | None = None,
        backend: int | None = None,
    ) -> None:
        self._device = index_or_path
        self._backend = camera_backend() if backend is None else backend
        self.name = f"camera {index_or_path}" if isinstance(index_or_path, int) else index_or_path
        self.width_px, self.height_px, self.fps = width_px, height_px, float(fps)
        self.dropped_frames = 0
        self._clock: Clock = clock or SystemClock()
        self._capture_factory = capture_factory or _open_cv_capture
        self._check_device_node = capture_factory is None
        self._reader: _Reader | None = None
        self._paused = threading.Event()  # set: the reader stops reading (and decoding)
        self._condition = threading.Condition()
        self._latest: Frame | None = None
        self._last_returned_index = -1
        self._next_index = 0
        self._last_good_s = 0.0
        self._failure: str | None = None

    def _describe(self) -> str:
        if isinstance(self._device, int):
            return f"at index {self._device}"
        return f"at {self._device}"

    def _not_found(self) -> SourceError:
        return SourceError(
            f"No camera found {self._describe()}. Connect a camera, or {_DEMO_HINT}."
        )

    def _device_node_missing(self) -> bool:
        """On Linux a camera is a /dev/video* node; without one, OpenCV cannot open it."""
        if not (self._check_device_node and sys.platform.startswith("linux")):
            return False
        device = self._device
        node = device_dir() / f"video{device}" if isinstance(device, int) else Path(device)
        return not node.exists()

    def _configure(self, capture: VideoCaptureLike) -> None:
        """Ask for MJPG (full frame rate over USB 2), our size and rate, and a short buffer."""
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width_px)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height_px)
        capture.set(cv2.CAP_PROP_FPS, self.fps)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)

    def open(self) -> None:
        """Open the camera, wait for its first frame and start the reader thread."""
        if self._reader is not None:
            return
        if self._device_node_missing():
            raise self._not_found()
        capture = self._capture_factory(self._device, self._backend)
        if not capture.isOpened():
            capture.release()
            raise self._not_found()
        self._configure(capture)
        ok, image = capture.read()
        if not ok or image is None:
            capture.release()
            raise SourceError(
                f"The camera {self._describe()} opened but sent no picture. Close other apps "
                f"that may be using it (video calls, the camera app) and retry, or {_DEMO_HINT}."
            )
        image = as_bgr(image)
        self.height_px, self.width_px = image.shape[:2]
        reported_fps = capture.get(cv2.CAP_PROP_FPS)
        if PLAUSIBLE_FPS_RANGE[0] <= reported_fps <= PLAUSIBLE_FPS_RANGE[1]:
            self.fps = float(reported_fps)
        self._last_good_s = self._clock.now_s()
        self._latest = Frame(image, self._last_good_s, 0)
        self._next_index, self._last_returned_index = 1, -1
        self._failure, self.dropped_frames = None, 0
        self._reader = _Reader(capture, self._run, f"backdrop {self.name} reader")

    def _run(self, capture: VideoCaptureLike, stop: threading.Event) -> None:
        """Reader thread: keep replacing the newest frame until stopped or the camera dies."""
        while not stop.is_set():
            if self._paused.is_set():  # nobody watches: no reads, no decoding
                stop.wait(_PAUSED_POLL_S)
                self._last_good_s = self._clock.now_s()
                continue
            ok, image = capture.read()
            now_s = self._clock.now_s()
            if not ok or image is None:
                if now_s - self._last_good_s > _CAMERA_STALL_S:
                    self._fail(
                        f"The camera {self._describe()} stopped sending pictures. Check that it "
                        "is still connected and that no other app took it over."
                    )
                    return
                stop.wait(_CAMERA_RETRY_WAIT_S)
                continue
            self._last_good_s = now_s
            with self._condition:
                if self._latest is not None and self._latest.index > self._last_returned_index:
                    self.dropped_frames += 1
                self._latest = Frame(as_bgr(image), now_s, self._next_index)
                self._next_index += 1
                self._condition.notify_all()

    def _fail(self, message: str) -> None:
        with self._condition:
            self._failure = message
            self._condition.notify_all()

    def _has_new_frame(self) -> bool:
        return self._latest is not None and self._latest.index > self._last_returned_index

    def read(self, timeout_s: float = 1.0) -> Frame | None:
        """The newest frame not yet returned; SourceError once the camera is gone."""
        if self._reader is None:
            raise RuntimeError(f"{self.name}: call open() before read()")
        with self._condition:
            self._condition.wait_for(
                lambda: self._has_new_frame() or self._failure is not None, timeout=timeout_s
            )
            if not self._has_new_frame():
                if self._failure is not None:
                    raise SourceError(self._failure)
                return None
            frame = self._latest
            assert frame is not None
            self._last_returned_index = frame.index
            return frame

    def pause(self, paused: bool) -> None:
        """Stop reading frames (the camera stays open, so resuming is instant) or go on."""
        if paused:
            self._paused.set()
        else:
            self._last_good_s = self._clock.now_s()
            self._paused.clear()

    def close(self) -> None:
        """Stop and join the reader thread, then release the camera. Idempotent.

        A reader stuck inside a driver read is left to end by itself and releases the camera
        then: releasing it under a running read could crash OpenCV.
        """
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.stop(_CAMERA_JOIN_TIMEOUT_S)


class _Reader:
    """One open capture and the thread reading it, with its own stop event; whoever is last,
    the thread (when it ends) or `stop`, releases the capture, exactly once."""

    def __init__(
        self,
        capture: VideoCaptureLike,
        run: Callable[[VideoCaptureLike, threading.Event], None],
        name: str,
    ) -> None:
        self._capture = capture
        self._run = run
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ended = self._abandoned = False
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        try:
            self._run(self._capture, self._stop)
        finally:
            with self._lock:
                self._ended = True
                release = self._abandoned
            if release:
                self._capture.release()

    def stop(self, timeout_s: float) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        with self._lock:
            self._abandoned = not self._ended
            release = self._ended
        if release:
            self._capture.release()
