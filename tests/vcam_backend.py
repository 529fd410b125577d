"""A pyvirtualcam backend for tests: it records what the real pyvirtualcam.Camera sends it.

Import `recording_vcam_fixture` into a test module and ask for `recording_vcam`, then open a sink
with `backend=RECORDING_BACKEND`; the fixture's `VcamRecorder` shows each camera that was opened
and can make every open, or the Nth send, fail.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pyvirtualcam import camera as pyvirtualcam_camera
from pyvirtualcam.util import decode_fourcc

RECORDING_BACKEND = "backdrop-test-recording"
DEFAULT_DEVICE = "/dev/video-backdrop-test"
KEPT_FRAMES = 5
_CHANNELS_BY_FORMAT = {"24BG": 3, "raw ": 3, "ABGR": 4}


class VcamRecorder:
    """What the recording backend saw, and the failures it should inject."""

    def __init__(self) -> None:
        self.cameras: list[RecordingBackend] = []
        self.open_error: Exception | None = None
        self.fail_on_send_number: int | None = None
        self.send_error: Exception = RuntimeError("test backend: the device went away")

    def fail_every_open(self, error: Exception) -> None:
        """Make every open raise `error`, as a missing or busy driver would."""
        self.open_error = error

    def fail_on_send(self, number: int, error: Exception | None = None) -> None:
        """Make the Nth send (counting from 1, per camera) raise `error`."""
        self.fail_on_send_number = number
        if error is not None:
            self.send_error = error

    @property
    def last(self) -> RecordingBackend:
        assert self.cameras, "no recording virtual camera was opened"
        return self.cameras[-1]


_recorder = VcamRecorder()


class RecordingBackend:
    """Follows pyvirtualcam's Backend protocol (keyword-only constructor, send/close/device)."""

    def __init__(
        self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw: Any
    ) -> None:
        if _recorder.open_error is not None:
            raise _recorder.open_error
        self.width_px = width
        self.height_px = height
        self.fps = fps
        self.fourcc = fourcc
        self.pixel_format = decode_fourcc(fourcc)
        self.extra_kwargs = kw
        self._device = device or DEFAULT_DEVICE
        self._lock = threading.Lock()
        self.send_calls = 0
        self.frames_received = 0
        self.buffer_sizes: set[int] = set()
        self.buffer_dtypes: set[np.dtype[Any]] = set()
        self.recent_frames: collections.deque[np.ndarray] = collections.deque(maxlen=KEPT_FRAMES)
        self.close_calls = 0
        _recorder.cameras.append(self)

    def send(self, frame: np.ndarray) -> None:
        """Record a copy, shaped (h, w, channels) for packed RGB formats, else as pyvirtualcam's
        1-D buffer."""
        with self._lock:
            self.send_calls += 1
            if self.send_calls == _recorder.fail_on_send_number:
                raise _recorder.send_error
            self.frames_received += 1
            self.buffer_sizes.add(frame.size)
            self.buffer_dtypes.add(frame.dtype)
            channels = _CHANNELS_BY_FORMAT.get(self.pixel_format)
            copy = frame.copy()
            if channels is not None:
                copy = copy.reshape(self.height_px, self.width_px, channels)
            self.recent_frames.append(copy)

    def close(self) -> None:
        self.close_calls += 1

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> int | None:
        return self.fourcc


def register_recording_backend() -> type[RecordingBackend]:
    """Register the backend with pyvirtualcam (idempotent) and return its class.

    While registered, pyvirtualcam's auto-selection (backend=None) may pick it: unregister after.
    """
    if pyvirtualcam_camera.BACKENDS.get(RECORDING_BACKEND) is not RecordingBackend:
        pyvirtualcam_camera.register_backend(RECORDING_BACKEND, RecordingBackend)
    return RecordingBackend


def unregister_recording_backend() -> None:
    """Remove the backend, so auto-selection (backend=None) sees only the OS's real backends."""
    pyvirtualcam_camera.BACKENDS.pop(RECORDING_BACKEND, None)


@pytest.fixture(name="recording_vcam")
def recording_vcam_fixture() -> Iterator[VcamRecorder]:
    """A fresh recorder with the backend registered for the test, unregistered after it."""
    global _recorder
    _recorder = VcamRecorder()
    register_recording_backend()
    try:
        yield _recorder
    finally:
        unregister_recording_backend()
        _recorder = VcamRecorder()
