"""The cameras a user can pick, by name, each with the OpenCV index and API that open it.

Linux reads sysfs names and V4L2 capabilities; Windows and macOS ask `cv2-enumerate-cameras`
(DirectShow, AVFoundation). Virtual cameras are never offered: reading one (ours, OBS's, a
loopback) would feed a meeting's output back into Backdrop.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import cv2

from app.devices.camera import CameraInfo, camera_backend, device_dir, sysfs_video_dir
from app.devices.frames import SourceError, VideoCaptureLike
from app.devices.loopback import is_loopback_device

log = logging.getLogger(__name__)

# Lower-case parts of the names virtual cameras show: their output, never a real camera. Phone
# relays (DroidCam, Camo, EpocCam) are real cameras and stay.
VIRTUAL_CAMERA_MARKERS = (
    "backdrop",  # our own, on every OS (virtualcam_help.CARD_LABEL on Linux)
    "obs virtual camera", "obs-camera", "obs camera extension",
    "streamlabs",  # Streamlabs Desktop Virtual Webcam
    "unity video capture",  # pyvirtualcam's other Windows backend
    "virtual camera", "virtual webcam", "virtualcam",  # ManyCam, e2eSoft and the like
    "snap camera", "xsplit vcam", "manycam", "nvidia broadcast", "logi capture", "mmhmm",
    "chromacam", "camtwist",
)


class EnumeratedCamera(Protocol):
    """What `cv2_enumerate_cameras.enumerate_cameras` returns for each camera."""

    index: int
    name: str
    path: str | None
    backend: int


Enumerate = Callable[[int], Sequence[EnumeratedCamera]]
OpenCapture = Callable[[int, int], VideoCaptureLike]


def is_virtual_camera(name: str) -> bool:
    """True when `name` is a well-known virtual camera's (case and spacing ignored)."""
    folded = " ".join(name.casefold().split())
    return any(marker in folded for marker in VIRTUAL_CAMERA_MARKERS)


def list_cameras(
    max_index: int = 5,
    sysfs_dir: Path | None = None,
    dev_dir: Path | None = None,
    platform: str | None = None,
    enumerate_cameras: Enumerate | None = None,
) -> list[CameraInfo]:
    """Cameras present, by name, virtual cameras left out: on Linux from sysfs and the existing
    /dev/video* capture nodes (directories default to `sysfs_video_dir()` and `device_dir()`);
    elsewhere from `cv2-enumerate-cameras` (`enumerate_cameras` stands in for it in tests)."""
    platform = platform or sys.platform
    if platform.startswith("linux"):
        return _list_linux_cameras(sysfs_dir or sysfs_video_dir(), dev_dir or device_dir())
    return list_named_cameras(platform, enumerate_cameras, max_index=max_index)


def list_named_cameras(
    platform: str,
    enumerate_cameras: Enumerate | None = None,
    open_capture: OpenCapture | None = None,
    max_index: int = 5,
) -> list[CameraInfo]:
    """The cameras `cv2-enumerate-cameras` names for `platform`'s capture API. If the package
    is missing or fails, "Camera N" for each index 0..max_index-1 that opens, and a log line."""
    backend = camera_backend(platform)
    try:
        found = (enumerate_cameras or _package_enumerator())(backend)
    except Exception as error:  # noqa: BLE001 - a missing package or a failing driver alike
        log.warning(
            "could not list the cameras by name (%s: %s); trying indices 0 to %d as "
            "'Camera N', which cannot tell virtual cameras apart",
            type(error).__name__, error, max_index - 1,
        )
        return _probe_cameras(backend, max_index, open_capture or _open_capture)
    return _named_cameras(found, backend)


def _package_enumerator() -> Enumerate:
    from cv2_enumerate_cameras import enumerate_cameras  # Windows and macOS only

    return enumerate_cameras


def _named_cameras(found: Sequence[EnumeratedCamera], backend: int) -> list[CameraInfo]:
    """Real cameras of `backend`, each name once: a second "HD Webcam" is "HD Webcam (2)"."""
    cameras: list[CameraInfo] = []
    seen: dict[str, int] = {}
    for camera in sorted(found, key=lambda camera: camera.index):
        name = (camera.name or "").strip() or f"Camera {camera.index}"
        if camera.backend != backend or is_virtual_camera(name):
            continue
        seen[name] = seen.get(name, 0) + 1
        shown = name if seen[name] == 1 else f"{name} ({seen[name]})"
        cameras.append(CameraInfo(camera.index, shown, camera.path or "", backend=backend))
    return cameras


def _open_capture(index: int, backend: int) -> VideoCaptureLike:
    capture: VideoCaptureLike = cv2.VideoCapture(index, backend)
    return capture


def _probe_cameras(backend: int, max_index: int, open_capture: OpenCapture) -> list[CameraInfo]:
    cameras = []
    for index in range(max_index):
        capture = open_capture(index, backend)
        if capture.isOpened():
            cameras.append(CameraInfo(index, f"Camera {index}", "", backend=backend))
        capture.release()
    return cameras


# --- Linux: sysfs names and V4L2 capabilities -------------------------------------------------
_VIDIOC_QUERYCAP = 0x80685600  # _IOR('V', 0, struct v4l2_capability), 104 bytes
_V4L2_CAP_VIDEO_CAPTURE = 0x00000001
_V4L2_CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
_V4L2_CAP_DEVICE_CAPS = 0x80000000


def _v4l2_capabilities(device: Path) -> tuple[str, int] | None:
    """(driver, device capabilities) from VIDIOC_QUERYCAP, or None if the query failed."""
    import fcntl  # POSIX only; this is reached on Linux alone

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
        if (not suffix.isdigit() or not device.exists() or is_loopback_device(entry.name, sysfs_dir)
                or not _is_usable_camera(device)):
            continue
        try:
            name = (entry / "name").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            name = ""
        if name and is_virtual_camera(name):
            continue  # a virtual camera that is not a loopback (or whose driver hid it)
        cameras.append(CameraInfo(int(suffix), name or entry.name, str(device),
                                  backend=int(cv2.CAP_V4L2)))
    return sorted(cameras, key=lambda camera: camera.index)


def next_camera_number(sysfs_dir: Path | None = None, platform: str | None = None) -> int:
    """The camera number to wait for when none is connected: on Linux the lowest /dev/videoN
    no device has (the kernel gives it to the next camera plugged in), so that a loopback
    device at video0 is never read as the camera; 0 elsewhere."""
    if not (platform or sys.platform).startswith("linux"):
        return 0
    try:
        taken = {entry.name for entry in (sysfs_dir or sysfs_video_dir()).glob("video*")}
    except OSError:
        return 0
    number = 0
    while f"video{number}" in taken:
        number += 1
    return number


def refuse_virtual_camera(
    spec: str,
    index_or_path: int | str,
    sysfs_dir: Path | None = None,
    dev_dir: Path | None = None,
    platform: str | None = None,
    enumerate_cameras: Enumerate | None = None,
) -> None:
    """SourceError if the camera a user named by hand (`camera:N`, `/dev/videoN`) is a virtual
    camera: on Linux a v4l2loopback device, elsewhere a camera whose name is a known virtual
    camera's (OBS's, Backdrop's own). Its picture is a virtual camera's output, and reading it
    would feed that back in. The message names the real ones."""
    platform = platform or sys.platform
    if not platform.startswith("linux"):
        if isinstance(index_or_path, int):
            _refuse_named_virtual_camera(spec, index_or_path, platform, enumerate_cameras)
        return
    sysfs_dir, dev_dir = sysfs_dir or sysfs_video_dir(), dev_dir or device_dir()
    node = (dev_dir / f"video{index_or_path}" if isinstance(index_or_path, int)
            else Path(index_or_path))
    if not is_loopback_device(node.name, sysfs_dir):
        return
    try:
        label = (sysfs_dir / node.name / "name").read_text(encoding="utf-8").strip()
    except OSError:
        label = ""
    named = f"the virtual camera “{label}”" if label else "a virtual camera"
    raise _refusal(f"'{spec}' is {node}, {named} (a v4l2loopback device), not a real camera",
                   [f"camera:{camera.index} “{camera.name}” ({camera.path})"
                    for camera in _list_linux_cameras(sysfs_dir, dev_dir)])


def _refuse_named_virtual_camera(
    spec: str, index: int, platform: str, enumerate_cameras: Enumerate | None
) -> None:
    """Windows and macOS: SourceError if camera `index` of the capture API is named as a
    virtual camera. Cameras that cannot be listed are not judged (nothing to go by)."""
    backend = camera_backend(platform)
    try:
        found = list((enumerate_cameras or _package_enumerator())(backend))
    except Exception:  # noqa: BLE001 - a missing package or a failing driver: cannot tell
        return
    names = [(camera.name or "").strip() for camera in found
             if camera.index == index and camera.backend == backend]
    if not names or not is_virtual_camera(names[0]):
        return
    raise _refusal(f"'{spec}' is “{names[0]}”, a virtual camera, not a real one",
                   [f"camera:{camera.index} “{camera.name}”"
                    for camera in _named_cameras(found, backend)])


def _refusal(what: str, real_cameras: list[str]) -> SourceError:
    """The error for a virtual camera named as the source: `what` it is, and the real ones."""
    real = ("Real cameras here: " + ", ".join(real_cameras) + "." if real_cameras
            else "No real camera is connected now; `--source demo` shows Backdrop without one.")
    return SourceError(f"{what}: reading it would feed a virtual camera's output, perhaps "
                       f"Backdrop's own, back into Backdrop. {real}")
