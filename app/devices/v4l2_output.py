"""A pure-Python v4l2loopback backend for pyvirtualcam that raises when the driver refuses frames.

pyvirtualcam's own Linux backend prints write errors to stderr and carries on, and never looks
at the format the driver took, so `ResilientSink` cannot see a driver failure. This one opens
and configures the device as that backend does (VIDIOC_QUERYCAP, then VIDIOC_S_FMT for I420)
and writes each frame with write(2), but raises when the driver keeps another size, when a
write fails, and when a write is cut short. Backdrop keeps pyvirtualcam's `Camera` API: this
class follows its backend protocol and is registered as `BACKEND_NAME`.
"""

from __future__ import annotations

import errno
import os
import struct
from typing import Any

import cv2
import numpy as np
from pyvirtualcam import camera as pyvirtualcam_camera
from pyvirtualcam.util import decode_fourcc, encode_fourcc

BACKEND_NAME = "backdrop-v4l2loopback"
_VIDIOC_QUERYCAP = 0x80685600  # _IOR('V', 0, struct v4l2_capability), 104 bytes
_VIDIOC_S_FMT = 0xC0D05605  # _IOWR('V', 5, struct v4l2_format), 208 bytes on 64-bit
_CAP_VIDEO_OUTPUT = 0x00000002
_BUF_TYPE_VIDEO_OUTPUT = 2
_PIX_FMT_YUV420 = int.from_bytes(b"YU12", "little")
_FORMAT_BYTES = 208
_PIX_OFFSET = 8  # the union after `type` is 8-aligned (struct v4l2_window holds pointers)
_CONVERSIONS = {"24BG": cv2.COLOR_BGR2YUV_I420, "raw ": cv2.COLOR_RGB2YUV_I420}
_SEARCHED_DEVICES = 100


class V4l2LoopbackOutput:
    """A v4l2loopback output device sent I420 frames converted from BGR (or RGB)."""

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None,
                 **_kw: Any) -> None:
        conversion = _CONVERSIONS.get(decode_fourcc(fourcc))
        if conversion is None:
            raise ValueError(f"{BACKEND_NAME} sends BGR or RGB frames, not "
                             f"{decode_fourcc(fourcc)!r}")
        self._conversion = conversion
        self._width_px, self._height_px = width, height
        self._frame_bytes = width * height * 3 // 2
        self._fd, self._device = _open_output(device)
        try:
            _set_format(self._fd, self._device, width, height)
        except BaseException:
            os.close(self._fd)
            raise

    def send(self, frame: np.ndarray) -> None:
        """Convert and write one frame; OSError if the driver refuses it or takes only part."""
        image = frame.reshape(self._height_px, self._width_px, 3)
        i420 = cv2.cvtColor(image, self._conversion)
        written = os.write(self._fd, i420.data)
        if written != self._frame_bytes:
            raise OSError(errno.EIO, f"{self._device} took {written} of the frame's "
                                     f"{self._frame_bytes} bytes")

    def close(self) -> None:
        os.close(self._fd)

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> int | None:
        return encode_fourcc("I420")


def _open_output(device: str | None) -> tuple[int, str]:
    """(fd, path) of `device`, or of the first v4l2loopback output device /dev/video0..99."""
    if device is not None:
        return _open_loopback(device), device
    for number in range(_SEARCHED_DEVICES):
        candidate = f"/dev/video{number}"
        try:
            return _open_loopback(candidate), candidate
        except ValueError:
            continue
    raise RuntimeError("No v4l2 loopback device found at /dev/video[0-99]. Did you run "
                       "'modprobe v4l2loopback'?")


def _open_loopback(device: str) -> int:
    """Open `device` for writing; ValueError (as pyvirtualcam words it) if it is not a
    v4l2loopback device that accepts output now, PermissionError without access."""
    import fcntl  # POSIX only: this backend is registered on Linux alone

    try:
        fd = os.open(device, os.O_WRONLY | os.O_SYNC | os.O_CLOEXEC)
    except FileNotFoundError as error:
        raise ValueError(f"Device {device} does not exist.") from error
    except PermissionError as error:
        raise PermissionError(f"Could not access {device} due to missing permissions. Did you "
                              "add your user to the 'video' group?") from error
    except OSError as error:
        raise ValueError(f"Device {device} could not be opened: {error.strerror}") from error
    try:
        capability = bytearray(104)
        fcntl.ioctl(fd, _VIDIOC_QUERYCAP, capability)
        driver = bytes(capability[:16]).split(b"\0", 1)[0]
        capabilities = int.from_bytes(capability[84:88], "little")
        if not capabilities & _CAP_VIDEO_OUTPUT:
            raise ValueError(f"Device {device} is not a video output device.")
        if driver != b"v4l2 loopback":
            raise ValueError(f"Device {device} is not a v4l2loopback device.")
    except BaseException as error:
        os.close(fd)
        if isinstance(error, OSError):
            raise ValueError(f"Device capabilities of {device} could not be queried.") from error
        raise
    return fd


def _set_format(fd: int, device: str, width_px: int, height_px: int) -> None:
    """Ask for I420 at the size; RuntimeError if the driver refuses it or keeps another size
    (a reading app holds the device at it: frames of this size would be cut)."""
    import fcntl  # POSIX only

    request = bytearray(_FORMAT_BYTES)
    struct.pack_into("I", request, 0, _BUF_TYPE_VIDEO_OUTPUT)
    struct.pack_into("III", request, _PIX_OFFSET, width_px, height_px, _PIX_FMT_YUV420)
    try:
        fcntl.ioctl(fd, _VIDIOC_S_FMT, request)
    except OSError as error:
        raise RuntimeError(f"Virtual camera device {device} could not be configured: "
                           f"{error.strerror}") from error
    taken_w, taken_h, taken_format = struct.unpack_from("III", request, _PIX_OFFSET)
    if (taken_w, taken_h, taken_format) != (width_px, height_px, _PIX_FMT_YUV420):
        taken = taken_format.to_bytes(4, "little").decode("ascii", "replace")
        raise RuntimeError(f"Virtual camera device {device} is held at {taken_w}x{taken_h} "
                           f"({taken}) and refused {width_px}x{height_px} I420.")


def register() -> None:
    """Make the backend available to pyvirtualcam.Camera(backend=BACKEND_NAME)."""
    if pyvirtualcam_camera.BACKENDS.get(BACKEND_NAME) is not V4l2LoopbackOutput:
        pyvirtualcam_camera.register_backend(BACKEND_NAME, V4l2LoopbackOutput)
