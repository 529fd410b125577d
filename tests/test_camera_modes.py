"""The sizes and frame rates a camera offers, asked of a fake V4L2 driver that answers the
enumeration ioctls byte for byte as linux/videodev2.h lays them out (no webcam here)."""

from __future__ import annotations

import errno
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.devices.camera import CameraInfo, CameraMode
from app.devices.camera_modes import camera_modes

# The request numbers as the kernel headers expand them (_IOWR('V', n, struct ...)).
VIDIOC_ENUM_FMT = 0xC0405602
VIDIOC_ENUM_FRAMESIZES = 0xC02C564A
VIDIOC_ENUM_FRAMEINTERVALS = 0xC034564B
STRUCT_SIZES = {VIDIOC_ENUM_FMT: 64, VIDIOC_ENUM_FRAMESIZES: 44, VIDIOC_ENUM_FRAMEINTERVALS: 52}
CAPTURE, CAPTURE_MPLANE = 1, 9
DISCRETE, CONTINUOUS, STEPWISE = 1, 2, 3
# uvcvideo reports frame intervals in 100 ns units over 10^7 (333333/10000000 is ~30 fps).
UVC_30_FPS, UVC_60_FPS, UVC_15_FPS = (333333, 10_000_000), (166666, 10_000_000), (
    666666, 10_000_000)


@dataclass
class FakeFormat:
    """One pixel format: discrete sizes with their intervals, or one stepwise size range
    (min_w, max_w, step_w, min_h, max_h, step_h) with one stepwise interval range."""

    fourcc: bytes
    description: bytes
    intervals_by_size: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)
    size_range: tuple[int, int, int, int, int, int] | None = None
    interval_range: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None = None

    @property
    def pixel_format(self) -> int:
        return int.from_bytes(self.fourcc, "little")  # v4l2_fourcc(a, b, c, d)


@dataclass
class FakeDriver:
    """Answers VIDIOC_ENUM_FMT / _FRAMESIZES / _FRAMEINTERVALS like a V4L2 driver: reads the
    caller's index and keys from the struct, writes the whole struct, EINVAL past the end."""

    formats: list[FakeFormat]
    buffer_type: int = CAPTURE
    requests: list[int] = field(default_factory=list)

    def __call__(self, descriptor: int, request: int, buffer: bytearray) -> int:
        assert isinstance(descriptor, int) and descriptor >= 0
        self.requests.append(request)
        if request not in STRUCT_SIZES:
            raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")
        assert len(buffer) == STRUCT_SIZES[request], "the kernel copies the size in the request"
        if request == VIDIOC_ENUM_FMT:
            self._enum_format(buffer)
        elif request == VIDIOC_ENUM_FRAMESIZES:
            self._enum_size(buffer)
        else:
            self._enum_interval(buffer)
        return 0

    def _format(self, pixel_format: int) -> FakeFormat:
        for fake_format in self.formats:
            if fake_format.pixel_format == pixel_format:
                return fake_format
        raise OSError(errno.EINVAL, "Invalid argument")

    def _enum_format(self, buffer: bytearray) -> None:
        index, buffer_type = struct.unpack_from("=II", buffer, 0)
        if buffer_type != self.buffer_type or index >= len(self.formats):
            raise OSError(errno.EINVAL, "Invalid argument")
        fake_format = self.formats[index]
        # index, type, flags, description[32], pixelformat, mbus_code, reserved[3]
        struct.pack_into("=III32sII3I", buffer, 0, index, buffer_type, 1,
                         fake_format.description, fake_format.pixel_format, 0, 0, 0, 0)

    def _enum_size(self, buffer: bytearray) -> None:
        index, pixel_format = struct.unpack_from("=II", buffer, 0)
        fake_format = self._format(pixel_format)
        if fake_format.size_range is not None:
            if index > 0:  # a range is one answer, at index 0
                raise OSError(errno.EINVAL, "Invalid argument")
            # index, pixel_format, type, stepwise {6 u32}, reserved[2]
            struct.pack_into("=III6I2I", buffer, 0, index, pixel_format, STEPWISE,
                             *fake_format.size_range, 0, 0)
            return
        sizes = list(fake_format.intervals_by_size)
        if index >= len(sizes):
            raise OSError(errno.EINVAL, "Invalid argument")
        # index, pixel_format, type, discrete {width, height}, the rest of the union, reserved
        struct.pack_into("=III2I4I2I", buffer, 0, index, pixel_format, DISCRETE,
                         *sizes[index], 0, 0, 0, 0, 0, 0)

    def _enum_interval(self, buffer: bytearray) -> None:
        index, pixel_format, width_px, height_px = struct.unpack_from("=IIII", buffer, 0)
        fake_format = self._format(pixel_format)
        keys = (index, pixel_format, width_px, height_px)
        if fake_format.interval_range is not None:
            if index > 0:
                raise OSError(errno.EINVAL, "Invalid argument")
            fastest, slowest, step = fake_format.interval_range
            # index, pixel_format, width, height, type, stepwise {min, max, step}, reserved[2]
            struct.pack_into("=IIIII6I2I", buffer, 0, *keys, STEPWISE,
                             *fastest, *slowest, *step, 0, 0)
            return
        intervals = fake_format.intervals_by_size.get((width_px, height_px), [])
        if index >= len(intervals):
            raise OSError(errno.EINVAL, "Invalid argument")
        struct.pack_into("=IIIII2I4I2I", buffer, 0, *keys, DISCRETE,
                         *intervals[index], 0, 0, 0, 0, 0, 0)


def uvc_webcam() -> list[FakeFormat]:
    """A typical USB webcam: MJPG up to 1080p, uncompressed YUYV only at 640x480."""
    mjpg = FakeFormat(b"MJPG", b"Motion-JPEG", {
        (1920, 1080): [UVC_30_FPS],
        (1280, 720): [UVC_60_FPS, UVC_30_FPS],
        (640, 480): [UVC_30_FPS],
    })
    yuyv = FakeFormat(b"YUYV", b"YUYV 4:2:2", {(640, 480): [UVC_30_FPS, UVC_15_FPS]})
    return [yuyv, mjpg]  # drivers list formats in their own order


@pytest.fixture(name="device_node")
def device_node_fixture(tmp_path: Path) -> Path:
    """A file that opens like /dev/videoN; the fake driver answers its ioctls."""
    node = tmp_path / "video4"
    node.write_bytes(b"")
    return node


def test_a_webcam_offers_its_mjpg_sizes_and_rates_largest_first(device_node: Path) -> None:
    driver = FakeDriver(uvc_webcam())
    modes = camera_modes(str(device_node), ioctl=driver)
    assert modes == [
        CameraMode(1920, 1080, (30.0,)),
        CameraMode(1280, 720, (30.0, 60.0)),
        CameraMode(640, 480, (30.0,)),  # YUYV's 15 fps is not what the app's MJPG request gets
    ]
    assert not any(mode.guessed for mode in modes)
    assert set(driver.requests) == set(STRUCT_SIZES)


def test_a_camera_without_mjpg_offers_its_yuyv_modes(device_node: Path) -> None:
    yuyv = FakeFormat(b"YUYV", b"YUYV 4:2:2", {
        (640, 480): [UVC_30_FPS, UVC_15_FPS, UVC_30_FPS],  # a repeated entry is listed once
        (1280, 720): [(1, 10)],
    })
    camera = CameraInfo(4, "Laptop camera", str(device_node))
    assert camera_modes(camera, ioctl=FakeDriver([yuyv])) == [
        CameraMode(1280, 720, (10.0,)),
        CameraMode(640, 480, (15.0, 30.0)),
    ]


def test_a_stepwise_range_offers_the_common_sizes_and_rates_inside_it(device_node: Path) -> None:
    ranged = FakeFormat(b"YU12", b"Planar YUV 4:2:0",
                        size_range=(320, 1280, 16, 240, 720, 8),
                        interval_range=((1, 30), (1, 5), (1, 30)))
    driver = FakeDriver([ranged], buffer_type=CAPTURE_MPLANE)
    modes = camera_modes(str(device_node), ioctl=driver)
    assert [(mode.width_px, mode.height_px) for mode in modes] == [
        (1280, 720), (640, 480), (640, 360)]  # 1920x1080 is past the range's maximum
    assert all(mode.fps_options == (15.0, 24.0, 30.0) for mode in modes)  # not 60: above 30


def test_a_size_without_listed_rates_offers_the_common_rates_as_a_guess(
    device_node: Path,
) -> None:
    odd = FakeFormat(b"MJPG", b"Motion-JPEG", {(800, 600): []})
    assert camera_modes(str(device_node), ioctl=FakeDriver([odd])) == [
        CameraMode(800, 600, (15.0, 30.0, 60.0), guessed=True)]


def test_a_device_that_cannot_be_opened_offers_common_sizes_marked_as_guesses(
    tmp_path: Path,
) -> None:
    driver = FakeDriver(uvc_webcam())
    modes = camera_modes(str(tmp_path / "video9"), ioctl=driver)
    assert driver.requests == [], "nothing to ask"
    assert modes and all(mode.guessed for mode in modes)
    assert (1280, 720) in [(mode.width_px, mode.height_px) for mode in modes]
    assert all(30.0 in mode.fps_options for mode in modes)
    areas = [mode.width_px * mode.height_px for mode in modes]
    assert areas == sorted(areas, reverse=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="V4L2 is Linux's")
def test_a_file_that_is_not_a_camera_offers_guesses_through_the_real_ioctl(
    device_node: Path,
) -> None:
    modes = camera_modes(str(device_node))  # fcntl.ioctl: the file refuses with ENOTTY
    assert modes and all(mode.guessed for mode in modes)
