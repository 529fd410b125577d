"""Webcams: a reader thread that keeps only the newest frame, the list of cameras, and the
sizes and frame rates each camera offers."""

from __future__ import annotations

import os
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2

from app.clock import Clock, SystemClock
from app.frames import (
    _PLAUSIBLE_FPS_RANGE,
    CaptureFactory,
    Frame,
    SourceError,
    VideoCaptureLike,
    _as_bgr,
)

_DEMO_HINT = "try `backdrop run --source demo` to see Backdrop without one"
_SYSFS_VIDEO_DIR = Path("/sys/class/video4linux")
_DEV_DIR = Path("/dev")
# A camera that delivers nothing for this long is treated as gone (unplugged, taken).
_CAMERA_STALL_S = 5.0
_CAMERA_RETRY_WAIT_S = 0.01
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


@dataclass(frozen=True)
class CameraInfo:
    """A camera the user can pick: `camera:<index>` or its device `path` (may be empty).
    `modes` is empty unless someone asked the camera (see `camera_modes`)."""

    index: int
    name: str
    path: str
    modes: tuple[CameraMode, ...] = ()


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




# --- the sizes and rates a camera offers (V4L2 enumeration, linux/videodev2.h) ----------------
Ioctl = Callable[[int, int, bytearray], object]
_COMMON_SIZES_PX = ((1920, 1080), (1280, 720), (640, 480), (640, 360))
_COMMON_FPS = (15.0, 24.0, 30.0, 60.0)
_GUESSED_FPS = (15.0, 30.0, 60.0)
GUESSED_MODES = tuple(CameraMode(w, h, _GUESSED_FPS, guessed=True) for w, h in _COMMON_SIZES_PX)


def _iowr(number: int, size: int) -> int:
    """_IOWR('V', number, size) from the kernel's asm-generic/ioctl.h (read | write = 3)."""
    return (3 << 30) | (size << 16) | (ord("V") << 8) | number


# struct v4l2_fmtdesc: index, type, flags, description[32], pixelformat, mbus_code, reserved[3]
_FMTDESC = struct.Struct("=III32sII3I")
# struct v4l2_frmsizeenum: index, pixel_format, type, union {discrete w, h | stepwise min_w,
# max_w, step_w, min_h, max_h, step_h}, reserved[2]
_FRMSIZEENUM = struct.Struct("=III6I2I")
# struct v4l2_frmivalenum: index, pixel_format, width, height, type, union {discrete fract |
# stepwise min, max, step fracts}, reserved[2]; a fract is numerator, denominator
_FRMIVALENUM = struct.Struct("=IIIII6I2I")
_VIDIOC_ENUM_FMT = _iowr(2, _FMTDESC.size)
_VIDIOC_ENUM_FRAMESIZES = _iowr(74, _FRMSIZEENUM.size)
_VIDIOC_ENUM_FRAMEINTERVALS = _iowr(75, _FRMIVALENUM.size)
_V4L2_BUF_TYPES = (1, 9)  # VIDEO_CAPTURE, then VIDEO_CAPTURE_MPLANE
_V4L2_DISCRETE = 1  # V4L2_FRMSIZE_TYPE_DISCRETE and V4L2_FRMIVAL_TYPE_DISCRETE
# CameraSource asks for MJPG; a camera without it is asked in its default, usually YUYV.
_PREFERRED_FORMATS = (
    int.from_bytes(b"MJPG", "little"),
    int.from_bytes(b"YUYV", "little"),
)
_ENUM_LIMIT = 256  # a driver that never says "no more" cannot hang the caller


def _v4l2_enum(
    ioctl: Ioctl, descriptor: int, request: int, layout: struct.Struct, *query: int
) -> Iterator[tuple[int, ...]]:
    """The driver's answers to an ENUM ioctl for index 0, 1, ... until it refuses (EINVAL)."""
    for index in range(_ENUM_LIMIT):
        buffer = bytearray(layout.size)
        struct.pack_into(f"={1 + len(query)}I", buffer, 0, index, *query)
        try:
            ioctl(descriptor, request, buffer)
        except OSError:
            return
        yield layout.unpack(buffer)


def _pixel_formats(ioctl: Ioctl, descriptor: int) -> list[int]:
    for buffer_type in _V4L2_BUF_TYPES:
        answers = _v4l2_enum(ioctl, descriptor, _VIDIOC_ENUM_FMT, _FMTDESC, buffer_type)
        formats = [int(answer[4]) for answer in answers]
        if formats:
            return formats
    return []


def _in_range(value: int, low: int, high: int, step: int) -> bool:
    return low <= value <= high and (value - low) % max(step, 1) == 0


def _frame_sizes(ioctl: Ioctl, descriptor: int, pixel_format: int) -> list[tuple[int, int]]:
    """Discrete sizes as listed; a stepwise or continuous range as the common sizes in it."""
    sizes = []
    for answer in _v4l2_enum(
        ioctl, descriptor, _VIDIOC_ENUM_FRAMESIZES, _FRMSIZEENUM, pixel_format
    ):
        kind, values = answer[2], answer[3:9]
        if kind == _V4L2_DISCRETE:
            sizes.append((values[0], values[1]))
            continue
        min_w, max_w, step_w, min_h, max_h, step_h = values
        return sizes + [(w, h) for w, h in _COMMON_SIZES_PX
                if _in_range(w, min_w, max_w, step_w) and _in_range(h, min_h, max_h, step_h)]
    return sizes


def _fps(numerator: int, denominator: int) -> float:
    """Frames per second from a frame interval in seconds (numerator / denominator)."""
    return round(denominator / numerator, 2) if numerator and denominator else 0.0


def _frame_rates(
    ioctl: Ioctl, descriptor: int, pixel_format: int, width_px: int, height_px: int
) -> set[float]:
    """Discrete rates as listed; a stepwise or continuous range as the common rates in it."""
    rates = set()
    for answer in _v4l2_enum(ioctl, descriptor, _VIDIOC_ENUM_FRAMEINTERVALS, _FRMIVALENUM,
                             pixel_format, width_px, height_px):
        kind, values = answer[4], answer[5:11]
        if kind == _V4L2_DISCRETE:
            rates.add(_fps(values[0], values[1]))
            continue
        fastest, slowest = _fps(values[0], values[1]), _fps(values[2], values[3])
        common = {fps for fps in _COMMON_FPS if slowest - 0.01 <= fps <= fastest + 0.01}
        rates = common or {fastest}
        break
    return {fps for fps in rates if fps > 0}


def _query_modes(ioctl: Ioctl, descriptor: int) -> list[CameraMode]:
    """The modes of the format the camera will be opened in: MJPG, else YUYV, else any."""
    formats = _pixel_formats(ioctl, descriptor)
    chosen = [fmt for fmt in _PREFERRED_FORMATS if fmt in formats][:1] or formats
    rates_by_size: dict[tuple[int, int], set[float]] = {}
    for pixel_format in chosen:
        for width_px, height_px in _frame_sizes(ioctl, descriptor, pixel_format):
            rates = rates_by_size.setdefault((width_px, height_px), set())
            rates |= _frame_rates(ioctl, descriptor, pixel_format, width_px, height_px)
    sizes = sorted(rates_by_size, key=lambda size: (size[0] * size[1], size[0]), reverse=True)
    return [
        CameraMode(w, h, tuple(sorted(rates_by_size[w, h])) or _GUESSED_FPS,
                   guessed=not rates_by_size[w, h])
        for w, h in sizes if w > 0 and h > 0
    ]


def _device_node(device: CameraInfo | int | str) -> str:
    if isinstance(device, CameraInfo):
        return device.path or str(_DEV_DIR / f"video{device.index}")
    if isinstance(device, int):
        return str(_DEV_DIR / f"video{device}")
    return device


def camera_modes(device: CameraInfo | int | str, ioctl: Ioctl | None = None) -> list[CameraMode]:
    """The sizes and rates a camera offers, largest first, asked of its V4L2 driver.

    Elsewhere than Linux, or when the device cannot be asked, the common sizes marked
    `guessed`. `ioctl` (fcntl.ioctl by default) stands in for the driver in tests.
    """
    if ioctl is None:
        if not sys.platform.startswith("linux"):
            return list(GUESSED_MODES)
        import fcntl  # POSIX only; this is reached on Linux alone

        ioctl = fcntl.ioctl
    try:
        descriptor = os.open(_device_node(device), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return list(GUESSED_MODES)
    try:
        modes = _query_modes(ioctl, descriptor)
    finally:
        os.close(descriptor)
    return modes or list(GUESSED_MODES)
