"""Frame sources: a webcam, a video file or the built-in demo, behind one small Protocol.

Every source hands out the newest frame only (the latest frame wins), as a fresh
array the consumer may keep. Sizes and rates are the actual ones after `open()`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from app.clock import Clock, FramePacer, SystemClock

ACCEPTED_SOURCES = (
    "demo, auto (the first camera, else the demo), camera, camera:N (N = 0, 1, ...), "
    "a camera device such as /dev/video0, or the path of a video file"
)
_DEMO_HINT = "try `backdrop run --source demo` to see Backdrop without one"
_SYSFS_VIDEO_DIR = Path("/sys/class/video4linux")
_DEV_DIR = Path("/dev")
# A camera that delivers nothing for this long is treated as gone (unplugged, taken).
_CAMERA_STALL_S = 5.0
_CAMERA_RETRY_WAIT_S = 0.01
# Longest a blocked camera read can hold up close(); V4L2 reads time out well before.
_CAMERA_JOIN_TIMEOUT_S = 12.0
_PLAUSIBLE_FPS_RANGE = (1.0, 240.0)
_FILE_FALLBACK_FPS = 30.0


class SourceError(Exception):
    """A source cannot be opened or stopped working; the message is meant for the user."""


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured picture. `image_bgr` belongs to this frame alone (never reused)."""

    image_bgr: np.ndarray
    captured_s: float
    index: int


class FrameSource(Protocol):
    """Where frames come from. Sizes and rate are the actual ones once `open()` returned."""

    @property
    def name(self) -> str: ...

    @property
    def width_px(self) -> int: ...

    @property
    def height_px(self) -> int: ...

    @property
    def fps(self) -> float: ...

    def open(self) -> None:
        """Acquire the device or file; raises SourceError with a user-facing message."""
        ...

    def read(self, timeout_s: float = 1.0) -> Frame | None:
        """The newest frame not yet returned, waiting up to `timeout_s`; None on timeout."""
        ...

    def close(self) -> None:
        """Release everything and join any thread. Safe to call twice."""
        ...


class VideoCaptureLike(Protocol):
    """The part of cv2.VideoCapture the camera source uses (tests pass a fake)."""

    def isOpened(self) -> bool: ...  # noqa: N802 (OpenCV's name)

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def set(self, prop_id: int, value: float) -> bool: ...

    def get(self, prop_id: int) -> float: ...

    def release(self) -> None: ...


CaptureFactory = Callable[[int | str, int], VideoCaptureLike]


@dataclass(frozen=True)
class CameraInfo:
    """A camera the user can pick: `camera:<index>` or its device `path` (may be empty)."""

    index: int
    name: str
    path: str


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """Three-channel uint8 BGR, whatever the backend delivered."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def camera_backend() -> int:
    """The OpenCV capture API that opens cameras fastest on this platform."""
    if sys.platform.startswith("linux"):
        return int(cv2.CAP_V4L2)
    if sys.platform == "win32":
        return int(cv2.CAP_DSHOW)
    if sys.platform == "darwin":
        return int(cv2.CAP_AVFOUNDATION)
    return int(cv2.CAP_ANY)


def _open_cv_capture(index_or_path: int | str, backend: int) -> VideoCaptureLike:
    capture: VideoCaptureLike = cv2.VideoCapture(index_or_path, backend)
    return capture


class CameraSource:
    """A webcam read by a thread that keeps only the newest frame (older ones are dropped).

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
    ) -> None:
        self._device = index_or_path
        self.name = f"camera {index_or_path}" if isinstance(index_or_path, int) else index_or_path
        self.width_px, self.height_px, self.fps = width_px, height_px, float(fps)
        self.dropped_frames = 0
        self._clock: Clock = clock or SystemClock()
        self._capture_factory = capture_factory or _open_cv_capture
        self._check_device_node = capture_factory is None
        self._capture: VideoCaptureLike | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
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
        node = _DEV_DIR / f"video{device}" if isinstance(device, int) else Path(device)
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
        if self._thread is not None:
            return
        if self._device_node_missing():
            raise self._not_found()
        capture = self._capture_factory(self._device, camera_backend())
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
        image = _as_bgr(image)
        self.height_px, self.width_px = image.shape[:2]
        reported_fps = capture.get(cv2.CAP_PROP_FPS)
        if _PLAUSIBLE_FPS_RANGE[0] <= reported_fps <= _PLAUSIBLE_FPS_RANGE[1]:
            self.fps = float(reported_fps)
        self._last_good_s = self._clock.now_s()
        self._latest = Frame(image, self._last_good_s, 0)
        self._next_index, self._last_returned_index = 1, -1
        self._failure, self.dropped_frames = None, 0
        self._capture = capture
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(capture,), name=f"backdrop {self.name} reader", daemon=True
        )
        self._thread.start()

    def _run(self, capture: VideoCaptureLike) -> None:
        """Reader thread: keep replacing the newest frame until stopped or the camera dies."""
        while not self._stop.is_set():
            ok, image = capture.read()
            now_s = self._clock.now_s()
            if not ok or image is None:
                if now_s - self._last_good_s > _CAMERA_STALL_S:
                    self._fail(
                        f"The camera {self._describe()} stopped sending pictures. Check that it "
                        "is still connected and that no other app took it over."
                    )
                    return
                self._stop.wait(_CAMERA_RETRY_WAIT_S)
                continue
            self._last_good_s = now_s
            with self._condition:
                if self._latest is not None and self._latest.index > self._last_returned_index:
                    self.dropped_frames += 1
                self._latest = Frame(_as_bgr(image), now_s, self._next_index)
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
        if self._thread is None:
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

    def close(self) -> None:
        """Stop and join the reader thread, then release the camera. Idempotent."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=_CAMERA_JOIN_TIMEOUT_S)
            if thread.is_alive():
                return  # still inside a driver read: releasing now could crash OpenCV
        if self._capture is not None:
            self._capture.release()
            self._capture = None


_VIDIOC_QUERYCAP = 0x80685600  # _IOR('V', 0, struct v4l2_capability), 104 bytes
_V4L2_CAP_VIDEO_CAPTURE = 0x00000001
_V4L2_CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
_V4L2_CAP_DEVICE_CAPS = 0x80000000


def _v4l2_capabilities(device: Path) -> tuple[str, int] | None:
    """(driver, device capabilities) from VIDIOC_QUERYCAP, or None if the query failed."""
    import fcntl  # POSIX only; this is reached on Linux alone
    import os

    try:
        descriptor = os.open(device, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        buffer = bytearray(104)
        fcntl.ioctl(descriptor, _VIDIOC_QUERYCAP, buffer)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    driver = bytes(buffer[0:16]).split(b"\0", 1)[0].decode("ascii", "replace")
    capabilities = int.from_bytes(buffer[84:88], "little")
    if capabilities & _V4L2_CAP_DEVICE_CAPS:
        capabilities = int.from_bytes(buffer[88:92], "little")
    return driver, capabilities


def _is_usable_camera(device: Path) -> bool:
    """True unless V4L2 says it cannot capture (metadata node) or is a loopback (a virtual
    camera, possibly our own output). A device that cannot be queried is kept."""
    queried = _v4l2_capabilities(device)
    if queried is None:
        return True
    driver, capabilities = queried
    capture_bits = _V4L2_CAP_VIDEO_CAPTURE | _V4L2_CAP_VIDEO_CAPTURE_MPLANE
    return bool(capabilities & capture_bits) and "loopback" not in driver


def _list_linux_cameras(sysfs_dir: Path, dev_dir: Path) -> list[CameraInfo]:
    cameras = []
    for entry in sysfs_dir.glob("video*"):
        suffix = entry.name.removeprefix("video")
        device = dev_dir / entry.name
        if not suffix.isdigit() or not device.exists() or not _is_usable_camera(device):
            continue
        try:
            name = (entry / "name").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            name = ""
        cameras.append(CameraInfo(int(suffix), name or entry.name, str(device)))
    return sorted(cameras, key=lambda camera: camera.index)


def _probe_cameras(max_index: int) -> list[CameraInfo]:
    cameras = []
    for index in range(max_index):
        capture = cv2.VideoCapture(index, camera_backend())
        if capture.isOpened():
            cameras.append(CameraInfo(index, f"Camera {index}", ""))
        capture.release()
    return cameras


def list_cameras(
    max_index: int = 5, sysfs_dir: Path = _SYSFS_VIDEO_DIR, dev_dir: Path = _DEV_DIR
) -> list[CameraInfo]:
    """Cameras present, cheaply: on Linux from sysfs names and the existing /dev/video*
    capture nodes (virtual loopback cameras left out); elsewhere by opening indices
    0..max_index-1."""
    if sys.platform.startswith("linux"):
        return _list_linux_cameras(sysfs_dir, dev_dir)
    return _probe_cameras(max_index)


def _file_backend() -> int:
    """FFmpeg when OpenCV has it: predictable, and it never treats a name as an image pattern."""
    if cv2.CAP_FFMPEG in cv2.videoio_registry.getBackends():
        return int(cv2.CAP_FFMPEG)
    return int(cv2.CAP_ANY)


class VideoFileSource:
    """A video file played at its own frame rate (paced by the clock), looping by default.

    Paced: read() returns the frame due now; frames a slow consumer missed are skipped
    (counted in `dropped_frames`). Unpaced: every frame in order, as fast as asked.
    Decoding happens in the caller's thread; the clock alone decides which frame is due.
    """

    def __init__(
        self, path: str | Path, clock: Clock | None = None, loop: bool = True, paced: bool = True
    ) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.width_px, self.height_px, self.fps = 0, 0, 0.0
        self.dropped_frames = 0
        self._clock: Clock = clock or SystemClock()
        self._loop, self._paced = loop, paced
        self._capture: cv2.VideoCapture | None = None
        self._first_image: np.ndarray | None = None
        self._position = 0  # stream index of the next frame, counting on across loops
        self._finished = False
        self._pacer: FramePacer | None = None

    @property
    def finished(self) -> bool:
        """True once a non-looping file has returned its last frame."""
        return self._finished

    def _open_capture(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(str(self.path), _file_backend())
        if not capture.isOpened():
            capture.release()
            raise SourceError(
                f"Cannot play {self.path}: it is not a video file that Backdrop can decode. "
                "Use a common video file (.mp4, .mkv, .avi, .webm), or `--source demo`."
            )
        return capture

    def open(self) -> None:
        """Open the file and decode its first frame; SourceError naming the file if that fails."""
        if self._capture is not None:
            return
        if not self.path.is_file():
            raise SourceError(
                f"Video file not found: {self.path}. Check the path, or use `--source demo`."
            )
        capture = self._open_capture()
        ok, image = capture.read()
        if not ok or image is None:
            capture.release()
            raise SourceError(f"{self.path} has no video frames. Use another file.")
        reported_fps = capture.get(cv2.CAP_PROP_FPS)
        in_range = _PLAUSIBLE_FPS_RANGE[0] <= reported_fps <= _PLAUSIBLE_FPS_RANGE[1]
        self.fps = float(reported_fps) if in_range else _FILE_FALLBACK_FPS
        self.height_px, self.width_px = image.shape[:2]
        self._capture, self._first_image = capture, _as_bgr(image)
        self._position, self._finished, self.dropped_frames = 0, False, 0
        self._pacer = FramePacer(self._clock, self.fps)

    def _advance(self, decode: bool) -> np.ndarray | None:
        """Move one frame on (rewinding at the end when looping); the picture if `decode`.

        Returns None at the end of a non-looping file (or when not decoding)."""
        assert self._capture is not None
        if self._first_image is not None:
            image, self._first_image = self._first_image, None
            self._position += 1
            return image if decode else None
        if not self._capture.grab():
            if not self._loop:
                self._finished = True
                return None
            self._capture.release()
            self._capture = self._open_capture()
            if not self._capture.grab():
                raise SourceError(f"{self.path} stopped delivering frames when it restarted.")
        self._position += 1
        if not decode:
            return None
        ok, image = self._capture.retrieve()
        if not ok or image is None:
            raise SourceError(f"A frame of {self.path} cannot be decoded; the file may be damaged.")
        return _as_bgr(image)

    def read(self, timeout_s: float = 1.0) -> Frame | None:
        """The next frame (unpaced) or the frame due now (paced); None at the end or on timeout."""
        if self._capture is None or self._pacer is None:
            raise RuntimeError(f"{self.name}: call open() before read()")
        if self._finished:
            return None
        if self._paced:
            due_index = self._pacer.next_due(timeout_s)
            if due_index is None:
                return None
            while self._position < due_index and not self._finished:
                self._advance(decode=False)
                self.dropped_frames += 1
        index = self._position
        image = None if self._finished else self._advance(decode=True)
        if image is None:
            return None
        return Frame(image, self._clock.now_s(), index)

    def close(self) -> None:
        """Release the file. Idempotent."""
        if self._capture is not None:
            self._capture.release()
        self._capture, self._first_image, self._pacer = None, None, None


def open_source(
    spec: str,
    width_px: int = 1280,
    height_px: int = 720,
    fps: float = 30.0,
    clock: Clock | None = None,
    paced: bool = True,
) -> FrameSource:
    """Make (not open) the source a user named. Cameras and the demo take the requested
    size and rate; a video file plays at its own."""
    from app.demo import DemoSource  # app.demo imports this module

    clock = clock or SystemClock()
    text = spec.strip()
    key = text.lower()
    if key == "demo":
        return DemoSource(width_px, height_px, fps, clock, paced=paced)
    if key == "auto":
        cameras = list_cameras()
        if not cameras:
            return DemoSource(width_px, height_px, fps, clock, paced=paced)
        return CameraSource(cameras[0].index, width_px, height_px, fps, clock)
    if key == "camera":
        return CameraSource(0, width_px, height_px, fps, clock)
    if key.startswith("camera:"):
        number = key.removeprefix("camera:").strip()
        if not number.isdigit():
            raise SourceError(
                f"'{spec}' is not a camera number: use camera:0, camera:1, ... "
                "(`backdrop devices` lists the cameras)."
            )
        return CameraSource(int(number), width_px, height_px, fps, clock)
    if text.startswith("/dev/video"):
        return CameraSource(text, width_px, height_px, fps, clock)
    path = Path(text).expanduser()
    if path.is_file():
        return VideoFileSource(path, clock, loop=True, paced=paced)
    problem = "no such file or directory" if not path.exists() else "not a file"
    raise SourceError(f"Unknown source '{spec}' ({problem}). Accepted sources: {ACCEPTED_SOURCES}.")
