"""Frame sources: a webcam, a video file or the built-in demo, behind one small Protocol.

Every source hands out the newest frame only (the latest frame wins), as a fresh
array the consumer may keep. Sizes and rates are the actual ones after `open()`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.clock import Clock, FramePacer, SystemClock
from app.devices.camera import CameraSource
from app.devices.camera_list import list_cameras, next_camera_number, refuse_virtual_camera
from app.devices.demo import DemoSource
from app.devices.frames import PLAUSIBLE_FPS_RANGE, Frame, FrameSource, SourceError, as_bgr

ACCEPTED_SOURCES = (
    "demo, demo-still (the demo sitting still), auto (the first camera, else the demo), "
    "camera, camera:N (N = 0, 1, ...), "
    "a camera device such as /dev/video0, or the path of a video file"
)
_FILE_FALLBACK_FPS = 30.0


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
        in_range = PLAUSIBLE_FPS_RANGE[0] <= reported_fps <= PLAUSIBLE_FPS_RANGE[1]
        self.fps = float(reported_fps) if in_range else _FILE_FALLBACK_FPS
        self.height_px, self.width_px = image.shape[:2]
        self._capture, self._first_image = capture, as_bgr(image)
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
        return as_bgr(image)

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
    loop: bool = True,
    demo_if_no_camera: bool = True,
) -> FrameSource:
    """Make (not open) the source a user named. Cameras and the demo take the requested
    size and rate; a video file plays at its own, looping unless `loop` is False.

    `auto` is the first camera; with none, the demo, unless `demo_if_no_camera` is False (a
    meeting must never be sent the demo person): then the number the next camera plugged in
    will get (never a loopback device's), which fails to open until a camera is connected (a
    live pipeline retries it and sends a 'camera unavailable' card).
    """
    clock = clock or SystemClock()
    text = spec.strip()
    key = text.lower()
    if key in ("demo", "demo-still"):
        return DemoSource(width_px, height_px, fps, clock, static=key == "demo-still",
                          paced=paced)
    if key == "auto":
        cameras = list_cameras()
        if cameras:
            first = cameras[0]
            return CameraSource(first.index, width_px, height_px, fps, clock, backend=first.backend)
        if demo_if_no_camera:
            return DemoSource(width_px, height_px, fps, clock, paced=paced)
        return CameraSource(next_camera_number(), width_px, height_px, fps, clock)
    if key == "camera" or key.startswith("camera:"):
        number = "0" if key == "camera" else key.removeprefix("camera:").strip()
        if not number.isdigit():
            raise SourceError(
                f"'{spec}' is not a camera number: use camera:0, camera:1, ... "
                "(`backdrop devices` lists the cameras)."
            )
        refuse_virtual_camera(spec, int(number))
        return CameraSource(int(number), width_px, height_px, fps, clock)
    if text.startswith("/dev/video"):
        refuse_virtual_camera(spec, text)
        return CameraSource(text, width_px, height_px, fps, clock)
    path = Path(text).expanduser()
    if path.is_file():
        return VideoFileSource(path, clock, loop=loop, paced=paced)
    problem = "no such file or directory" if not path.exists() else "not a file"
    raise SourceError(f"Unknown source '{spec}' ({problem}). Accepted sources: {ACCEPTED_SOURCES}.")
