"""What sysfs says about v4l2loopback devices (Linux): which one is Backdrop's, and the format a
device really took.

Every v4l2loopback device has a `format` attribute in /sys/class/video4linux/videoN (other video
devices do not), reading "FOURCC:WxH@fps" while someone streams and nothing otherwise. Its `name`
is the card label `backdrop setup-virtualcam` gives it ("Backdrop"), so Backdrop can pick its own
device rather than the first loopback device, which may be OBS's or DroidCam's.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from app.devices.camera import device_dir, sysfs_video_dir
from app.devices.virtualcam_help import CARD_LABEL

# VIDIOC_STREAMON = _IOW('V', 18, int), for V4L2_BUF_TYPE_VIDEO_OUTPUT (2).
VIDIOC_STREAMON = 0x40045612
V4L2_BUF_TYPE_VIDEO_OUTPUT = 2
_FORMAT = re.compile(r"^\s*\S{1,4}\s*:(\d+)x(\d+)@")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def named_loopback_device(
    label: str = CARD_LABEL, sysfs_dir: Path | None = None, dev_dir: Path | None = None
) -> str | None:
    """The /dev/videoN of the loopback device whose card label is `label`, or None."""
    sysfs_dir = sysfs_dir or sysfs_video_dir()
    dev_dir = dev_dir or device_dir()
    try:
        entries = sorted(sysfs_dir.glob("video*"), key=lambda path: (len(path.name), path.name))
    except OSError:
        return None
    for entry in entries:
        is_loopback = is_loopback_device(entry.name, sysfs_dir)
        name = (_read(entry / "name") or "").strip()
        node = dev_dir / entry.name
        if is_loopback and name == label and node.exists():
            return str(node)
    return None


def is_loopback_device(device: str, sysfs_dir: Path | None = None) -> bool:
    """Whether sysfs shows `device` (/dev/videoN) as a v4l2loopback device."""
    return ((sysfs_dir or sysfs_video_dir()) / Path(device).name / "format").exists()


def held_size(device: str, sysfs_dir: Path | None = None) -> tuple[int, int] | None:
    """The size a loopback device streams at now, from its sysfs `format`; None when it is not
    a loopback device, nobody streams, or the format cannot be read."""
    text = _read((sysfs_dir or sysfs_video_dir()) / Path(device).name / "format")
    match = _FORMAT.match(text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def keep_reopenable(device: str) -> int | None:
    """v4l2loopback 0.12.x never becomes an output device again once its producer closes,
    until the module is reloaded (pyvirtualcam #61). A second descriptor that issues
    VIDIOC_STREAMON for output after the producer opened keeps it reopenable; 0.15 answers
    EINVAL, harmlessly. Returns that descriptor (close it with the producer), or None."""
    import fcntl  # POSIX only: Windows imports this module too (through the sinks)

    try:
        fd = os.open(device, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.ioctl(fd, VIDIOC_STREAMON, struct.pack("i", V4L2_BUF_TYPE_VIDEO_OUTPUT))
    except OSError:
        pass  # EINVAL on 0.15 and later, or not a loopback device: nothing to keep
    return fd
