"""What sysfs says about v4l2loopback devices (Linux): which one is Backdrop's, and the format a
device really took.

Every v4l2loopback device has a `format` attribute in /sys/class/video4linux/videoN (other video
devices do not), reading "FOURCC:WxH@fps" while someone streams and nothing otherwise. Its `name`
is the card label `backdrop setup-virtualcam` gives it ("Backdrop"), so Backdrop can pick its own
device rather than the first loopback device, which may be OBS's or DroidCam's.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.devices.camera import device_dir, sysfs_video_dir
from app.devices.virtualcam_help import CARD_LABEL

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
        is_loopback = (entry / "format").exists()
        name = (_read(entry / "name") or "").strip()
        node = dev_dir / entry.name
        if is_loopback and name == label and node.exists():
            return str(node)
    return None


def held_size(device: str, sysfs_dir: Path | None = None) -> tuple[int, int] | None:
    """The size a loopback device streams at now, from its sysfs `format`; None when it is not
    a loopback device, nobody streams, or the format cannot be read."""
    text = _read((sysfs_dir or sysfs_video_dir()) / Path(device).name / "format")
    match = _FORMAT.match(text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None
