"""How to get a virtual camera on each OS, and which pyvirtualcam backends work here.

The text is shown to users when no virtual camera can be opened; `linux_setup_commands` is what
`backdrop setup-virtualcam --apply` runs (as root) so the fix is one command.
"""

from __future__ import annotations

import shlex
import sys

import pyvirtualcam
from pyvirtualcam import camera as pyvirtualcam_camera

MODULE_NAME = "v4l2loopback"
CARD_LABEL = "Backdrop"
# exclusive_caps=1 makes the device look like a capture-only camera: Chrome and Google Meet
# list a v4l2loopback device only with it.
MODULE_OPTIONS = ("devices=1", "exclusive_caps=1", f'card_label="{CARD_LABEL}"')
MODULES_LOAD_PATH = "/etc/modules-load.d/backdrop.conf"
MODPROBE_CONF_PATH = "/etc/modprobe.d/backdrop.conf"
MODULES_LOAD_CONTENT = f"{MODULE_NAME}\n"
MODPROBE_CONF_CONTENT = f"options {MODULE_NAME} {' '.join(MODULE_OPTIONS)}\n"

BACKENDS_BY_PLATFORM: dict[str, tuple[str, ...]] = {
    "linux": ("v4l2loopback",),
    "win32": ("obs", "unitycapture"),
    "darwin": ("obs",),
}
PROBE_WIDTH_PX = 320
PROBE_HEIGHT_PX = 240


def _platform_key(platform: str) -> str:
    return "linux" if platform.startswith("linux") else platform


def _linux_fix() -> str:
    options = " ".join(MODULE_OPTIONS)
    return "\n".join([
        "Backdrop needs the v4l2loopback kernel module for its virtual camera.",
        "1. Install it: Debian/Ubuntu: sudo apt install v4l2loopback-dkms; "
        "Fedora: sudo dnf install akmod-v4l2loopback (from RPM Fusion).",
        f"2. Load it now: sudo modprobe {MODULE_NAME} {options}",
        "   (exclusive_caps=1 is needed for Chrome and Google Meet to list the camera; if the "
        f"module is already loaded without it, run sudo modprobe -r {MODULE_NAME} first.)",
        "3. Load it at every boot: put the line",
        f"     {MODULE_NAME}",
        f"   in {MODULES_LOAD_PATH}, and the line",
        f"     {MODPROBE_CONF_CONTENT.strip()}",
        f"   in {MODPROBE_CONF_PATH}.",
        "   `backdrop setup-virtualcam --apply` (run as root) does steps 2 and 3 for you.",
        "If modprobe says 'Key was rejected by service', Secure Boot blocks unsigned modules: "
        "enrol your DKMS signing key with mokutil, then reboot.",
        "Then restart Backdrop.",
    ])


def _obs_fix(platform: str) -> str:
    if platform == "win32":
        steps = [
            "Backdrop uses the OBS Virtual Camera on Windows.",
            "1. Install OBS Studio 26 or newer (obsproject.com).",
            "2. Open OBS once and click 'Start Virtual Camera', then 'Stop Virtual Camera' and "
            "close OBS. This installs the camera driver.",
        ]
    else:
        steps = [
            "Backdrop uses the OBS Virtual Camera on macOS.",
            "1. Install OBS Studio 30 or newer (obsproject.com).",
            "2. Open OBS once and click 'Start Virtual Camera'. When macOS asks, allow the OBS "
            "system extension (System Settings > Privacy & Security), then stop the virtual "
            "camera and close OBS.",
        ]
    steps.append("3. Restart Backdrop (and your meeting app, so it sees the new camera).")
    return "\n".join(steps)


def virtualcam_fix(platform: str = sys.platform) -> str:
    """Step-by-step instructions that make a virtual camera available on `platform`."""
    key = _platform_key(platform)
    if key == "linux":
        return _linux_fix()
    if key in ("win32", "darwin"):
        return _obs_fix(key)
    return (
        f"Backdrop has no virtual camera support for this system ({platform}). "
        "You can still record to a file: backdrop run --output out.mp4"
    )


def linux_setup_commands() -> list[list[str]]:
    """Commands (run as root) that load v4l2loopback now and at every boot."""
    modprobe = ["modprobe", MODULE_NAME, *MODULE_OPTIONS[:-1], f"card_label={CARD_LABEL}"]

    def write_file(path: str, content: str) -> list[str]:
        return ["sh", "-c", f"printf '%s' {shlex.quote(content)} > {shlex.quote(path)}"]

    return [
        modprobe,
        write_file(MODULES_LOAD_PATH, MODULES_LOAD_CONTENT),
        write_file(MODPROBE_CONF_PATH, MODPROBE_CONF_CONTENT),
    ]


def registered_backends() -> list[str]:
    """Names pyvirtualcam can use in this process (its OS backends plus any registered later)."""
    return list(pyvirtualcam_camera.BACKENDS)


def _probe(name: str) -> tuple[str, bool, str]:
    try:
        with pyvirtualcam.Camera(
            PROBE_WIDTH_PX, PROBE_HEIGHT_PX, 30, fmt=pyvirtualcam.PixelFormat.BGR, backend=name
        ) as cam:
            return name, True, f"works (device {cam.device})"
    except Exception as error:  # noqa: BLE001 - any failure means "not usable", with its reason
        return name, False, str(error).strip()


def available_backends(platform: str = sys.platform) -> list[tuple[str, bool, str]]:
    """(name, usable, reason) for each virtual camera backend, found by briefly opening one."""
    expected = BACKENDS_BY_PLATFORM.get(_platform_key(platform), ())
    registered = registered_backends()
    results = []
    for name in (*expected, *(n for n in registered if n not in expected)):
        if name not in registered:
            results.append((name, False, "not available on this system"))
        else:
            results.append(_probe(name))
    return results
