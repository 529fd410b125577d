"""Where finished frames go: a virtual camera, a video file, or nowhere.

Every sink takes uint8 BGR frames of the even size it was opened with (Chrome rejects odd widths;
`even_size` gives the size to open with, and a frame one pixel larger is cropped). `send` before
`open` or after `close` raises SinkError: a lost frame should be a visible bug, never a silent one.
`close` is idempotent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

import cv2
import numpy as np
import pyvirtualcam

from app.devices import v4l2_output
from app.devices.consumers import holders
from app.devices.loopback import (
    held_size,
    is_loopback_device,
    keep_reopenable,
    named_loopback_device,
)
from app.devices.virtualcam_help import (
    available_backends,
    registered_backends,
    reload_module_hint,
    virtualcam_fix,
)

FILE_SUFFIXES = (".mp4", ".y4m")

__all__ = [
    "FILE_SUFFIXES", "FrameSink", "NullSink", "SinkError", "VideoFileSink", "VirtualCamSink",
    "available_backends", "crop_even", "even_size", "open_sink",
]


class SinkError(Exception):
    """A sink cannot open or write; the message tells the user what to do."""


@runtime_checkable
class FrameSink(Protocol):
    """Receives finished BGR frames."""

    @property
    def description(self) -> str: ...

    @property
    def device(self) -> str: ...

    def open(self, width_px: int, height_px: int, fps: int) -> None: ...

    def send(self, frame_bgr: np.ndarray) -> None: ...

    def close(self) -> None: ...


def even_size(width_px: int, height_px: int) -> tuple[int, int]:
    """The largest even size that fits in (width_px, height_px)."""
    return width_px - width_px % 2, height_px - height_px % 2


def crop_even(frame_bgr: np.ndarray) -> np.ndarray:
    """A view of the frame cropped to even width and height (video apps reject odd sizes)."""
    width_px, height_px = even_size(frame_bgr.shape[1], frame_bgr.shape[0])
    return frame_bgr[:height_px, :width_px]


class _SizedSink:
    """Shared open/closed state, size checks and the frame counter."""

    def __init__(self) -> None:
        self.width_px = 0
        self.height_px = 0
        self.fps = 0
        self.frames_sent = 0
        self._is_open = False
        self._was_closed = False

    def _start(self, width_px: int, height_px: int, fps: int) -> None:
        if self._is_open:
            raise SinkError(f"{self.description} is already open.")
        if width_px < 2 or height_px < 2 or even_size(width_px, height_px) != (width_px, height_px):
            raise SinkError(
                f"Output size {width_px}x{height_px} must be even and at least 2x2 "
                "(video apps reject odd sizes); open with even_size(width, height)."
            )
        if fps < 1:
            raise SinkError(f"Output frame rate must be at least 1 fps, got {fps}.")
        self.width_px, self.height_px, self.fps = width_px, height_px, fps

    def _fit(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Check a frame before sending; crop the odd row/column a camera may add."""
        if not self._is_open:
            state = "closed" if self._was_closed else "not open yet"
            raise SinkError(f"Cannot send a frame: {self.description} is {state}.")
        shape = frame_bgr.shape
        height, width = self.height_px, self.width_px
        fits = (
            frame_bgr.dtype == np.uint8 and frame_bgr.ndim == 3 and shape[2] == 3
            and shape[0] in (height, height + 1) and shape[1] in (width, width + 1)
        )
        if not fits:
            raise SinkError(
                f"{self.description} expects uint8 BGR frames of {width}x{height}, "
                f"got {frame_bgr.dtype} with shape {shape}."
            )
        return frame_bgr[:height, :width]

    def _finish(self) -> bool:
        """Mark closed; False if it already was (close is idempotent)."""
        was_open = self._is_open
        self._is_open = False
        self._was_closed = True
        return was_open

    @property
    def description(self) -> str:
        raise NotImplementedError


class NullSink(_SizedSink):
    """Discards frames and counts them (for benchmarks and headless runs)."""

    @property
    def description(self) -> str:
        return "null output (frames are discarded)"

    @property
    def device(self) -> str:
        return ""

    def open(self, width_px: int, height_px: int, fps: int) -> None:
        self._start(width_px, height_px, fps)
        self._is_open = True

    def send(self, frame_bgr: np.ndarray) -> None:
        self._fit(frame_bgr)
        self.frames_sent += 1

    def close(self) -> None:
        self._finish()


class VirtualCamSink(_SizedSink):
    """Sends frames to a pyvirtualcam device (v4l2loopback, OBS or Unity Capture)."""

    def __init__(self, backend: str | None = None, device: str | None = None) -> None:
        super().__init__()
        self._backend_name = backend or None
        self._device_name = device or None
        self._camera: pyvirtualcam.Camera | None = None
        self._streamon_fd: int | None = None  # see loopback.keep_reopenable

    @property
    def description(self) -> str:
        if self._camera is None:
            return "virtual camera"
        return f"virtual camera {self._camera.device} ({self._camera.backend})"

    @property
    def device(self) -> str:
        return self._camera.device if self._camera is not None else (self._device_name or "")

    def open(self, width_px: int, height_px: int, fps: int) -> None:
        self._start(width_px, height_px, fps)
        if self._backend_name == v4l2_output.BACKEND_NAME and sys.platform.startswith("linux"):
            v4l2_output.register()  # opt-in: it raises on write errors, pyvirtualcam's prints
        known = registered_backends()
        if self._backend_name is not None and self._backend_name not in known:
            raise SinkError(
                f"Unknown virtual camera backend '{self._backend_name}'. "
                f"Available here: {', '.join(known) or 'none'}. Leave the backend empty to "
                "let Backdrop choose."
            )
        device = self._device_name
        if device is None and sys.platform.startswith("linux"):
            device = named_loopback_device()  # ours, not OBS's or DroidCam's loopback device
        try:
            camera = pyvirtualcam.Camera(
                width_px, height_px, fps, fmt=pyvirtualcam.PixelFormat.BGR,
                backend=self._backend_name, device=device, print_fps=False,
            )
        except (RuntimeError, ValueError, OSError) as error:
            reason = str(error).strip()
            if "busy" in reason.lower() and device is not None:
                programs = _programs_holding(device)
                in_use = f" by {', '.join(programs)}" if programs else ""
                raise SinkError(
                    f"The virtual camera {device} is in use{in_use}: {reason}. Close that "
                    "program's output to this camera (another Backdrop, or OBS's virtual "
                    "camera), or choose another device."
                ) from error
            if "not a video output device" in reason and device is not None \
                    and is_loopback_device(device):
                # v4l2loopback 0.12.x after a sender closed, where the STREAMON fix did not hold
                raise SinkError(
                    f"The virtual camera {device} no longer accepts Backdrop's picture (an older "
                    f"v4l2loopback does this after a program stops sending). "
                    f"{reload_module_hint()}"
                ) from error
            raise SinkError(
                f"Could not start the virtual camera: {reason}\n\n{virtualcam_fix()}"
            ) from error
        self._refuse_a_held_format(camera, width_px, height_px)
        if camera.backend in ("v4l2loopback", v4l2_output.BACKEND_NAME):
            self._streamon_fd = keep_reopenable(camera.device)
        self._camera = camera
        self._is_open = True

    @staticmethod
    def _refuse_a_held_format(camera: pyvirtualcam.Camera, width_px: int, height_px: int) -> None:
        """v4l2loopback keeps the size a reading app holds and silently drops frames of any
        other; sysfs says which size the device really took (Linux)."""
        if not sys.platform.startswith("linux"):
            return
        device = camera.device
        held = held_size(device)
        if held is None or held == (width_px, height_px):
            return
        camera.close()
        programs = _programs_holding(device)
        by = f" by {', '.join(programs)}" if programs else " by an app that is reading it"
        raise SinkError(
            f"The virtual camera {device} is held at {held[0]}x{held[1]}{by}, so frames "
            f"at {width_px}x{height_px} would not reach it. Close the camera in your meeting app "
            f"(or leave the call), or choose {held[0]}x{held[1]} as the output size."
        )

    def send(self, frame_bgr: np.ndarray) -> None:
        frame = self._fit(frame_bgr)
        assert self._camera is not None
        try:
            self._camera.send(np.ascontiguousarray(frame))
        except Exception as error:  # noqa: BLE001 - a driver can fail in any way mid-call
            raise SinkError(f"The {self.description} stopped accepting frames: {error}") from error
        self.frames_sent += 1

    def close(self) -> None:
        if self._finish() and self._camera is not None:
            camera, self._camera = self._camera, None
            camera.close()
            if self._streamon_fd is not None:
                fd, self._streamon_fd = self._streamon_fd, None
                os.close(fd)


def _programs_holding(device: str) -> list[str]:
    """The names of the other programs that have `device` open (from /proc; Linux)."""
    return sorted({name for _, name in holders(Path(device))})


class _Mp4Writer:
    """MPEG-4 Part 2 via OpenCV; release() finishes the file so it plays."""

    def __init__(self, path: Path, width_px: int, height_px: int, fps: int) -> None:
        fourcc = cv2.VideoWriter.fourcc(*"mp4v")
        self._writer = cv2.VideoWriter(str(path), fourcc, float(fps), (width_px, height_px))
        if not self._writer.isOpened():
            raise SinkError(
                f"Could not create the video file {path}: OpenCV cannot write MP4 there. "
                "Check the path and that the folder is writable, or try a .y4m file."
            )

    def write(self, frame_bgr: np.ndarray) -> None:
        self._writer.write(np.ascontiguousarray(frame_bgr))

    def close(self) -> None:
        self._writer.release()


class _Y4mWriter:
    """Raw YUV4MPEG2 I420 that Chromium's fake capture (--use-file-for-fake-video-capture) and
    ffmpeg read; each frame is `FRAME\\n` then the Y, U, V planes (BT.601, as OpenCV converts)."""

    def __init__(self, path: Path, width_px: int, height_px: int, fps: int) -> None:
        # Chromium accepts C420, C420jpeg, C420mpeg2 and C420paldv, reads up to 200 header bytes
        # and expects bare "FRAME\n" delimiters.
        header = f"YUV4MPEG2 W{width_px} H{height_px} F{fps}:1 Ip A1:1 C420jpeg\n"
        self._path = path
        try:
            self._file: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()
        except OSError as error:
            raise SinkError(f"Could not create the video file {path}: {error.strerror}.") from error
        try:
            self._file.write(header.encode("ascii"))
        except OSError as error:
            self._file.close()
            raise SinkError(f"Could not write to {path}: {error.strerror}.") from error

    def write(self, frame_bgr: np.ndarray) -> None:
        planes = cv2.cvtColor(np.ascontiguousarray(frame_bgr), cv2.COLOR_BGR2YUV_I420)
        try:
            self._file.write(b"FRAME\n")
            self._file.write(planes.tobytes())
        except OSError as error:
            raise SinkError(f"Could not write to {self._path}: {error.strerror}.") from error

    def close(self) -> None:
        self._file.close()


class VideoFileSink(_SizedSink):
    """Writes frames to an .mp4 (OpenCV, mp4v) or .y4m (raw I420) file."""

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.path = Path(path).expanduser()
        if self.path.suffix.lower() not in FILE_SUFFIXES:
            raise SinkError(
                f"Cannot write video to {self.path}: the file name must end in "
                f"{' or '.join(FILE_SUFFIXES)}."
            )
        self._writer: _Mp4Writer | _Y4mWriter | None = None

    @property
    def description(self) -> str:
        return f"file {self.path}"

    @property
    def device(self) -> str:
        return str(self.path)

    def open(self, width_px: int, height_px: int, fps: int) -> None:
        self._start(width_px, height_px, fps)
        if not self.path.parent.is_dir():
            raise SinkError(
                f"Cannot write {self.path}: the folder {self.path.parent} does not exist. "
                "Create it first or choose another path."
            )
        writer_type = _Y4mWriter if self.path.suffix.lower() == ".y4m" else _Mp4Writer
        self._writer = writer_type(self.path, width_px, height_px, fps)
        self._is_open = True

    def send(self, frame_bgr: np.ndarray) -> None:
        frame = self._fit(frame_bgr)
        assert self._writer is not None
        self._writer.write(frame)
        self.frames_sent += 1

    def close(self) -> None:
        if self._finish() and self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()


def open_sink(spec: str, backend: str | None = None, device: str | None = None) -> FrameSink:
    """A (not yet opened) sink for `virtualcam`, `null`, or a path ending in .mp4 or .y4m."""
    if spec == "virtualcam":
        return VirtualCamSink(backend, device)
    if spec == "null":
        return NullSink()
    if Path(spec).suffix.lower() in FILE_SUFFIXES:
        return VideoFileSink(spec)
    raise SinkError(
        f"Unknown output '{spec}'. Use 'virtualcam', 'null', or a file name ending in "
        f"{' or '.join(FILE_SUFFIXES)}."
    )


def playable_frames(path: Path) -> int:
    """How many frames a finished video file says it holds (0 if it cannot be opened).

    OpenCV's writer reports no errors (a full disk only shows in FFmpeg's log), so a finished
    .mp4 is checked by opening it again: an unwritten index makes it unplayable.
    """
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return 0
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
    finally:
        capture.release()

