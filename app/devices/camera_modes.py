"""The sizes and frame rates a camera offers, asked from its V4L2 driver on Linux."""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable, Iterator

from app.devices.camera import CameraInfo, CameraMode, device_dir

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
        return device.path or str(device_dir() / f"video{device.index}")
    if isinstance(device, int):
        return str(device_dir() / f"video{device}")
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
