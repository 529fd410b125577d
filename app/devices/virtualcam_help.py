"""How to get a virtual camera on each OS, and which pyvirtualcam backends work here.

The text is shown to users when no virtual camera can be opened; `linux_setup_commands` is what
`backdrop setup-virtualcam --apply` runs as root, and `linux_setup_script` what the GUI's
"Set up…" runs, so the fix is one command. What runs as root is only fixed system programs
(found in root-owned system directories) with constant arguments, never code from a path the
user can write, such as Backdrop's own virtual environment.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

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
LOADED_MODULE_DIR = f"/sys/module/{MODULE_NAME}"
# Where the programs run as root may come from: directories only root can write to.
SYSTEM_BIN_DIRS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")

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
        "   `backdrop setup-virtualcam --apply` does steps 2 and 3 for you (it asks for your "
        "password).",
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


def _root_only_writable(path: Path) -> bool:
    """True if `path` exists and it, the file it links to, and every directory above both
    are owned by root and writable by no one else."""
    try:
        chain = [path, path.resolve(strict=True)]
        for entry in list(chain):
            chain.extend(entry.parents)
        for entry in chain:
            info = entry.stat()
            if info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return False
    except OSError:
        return False
    return True


def system_binary(
    name: str,
    dirs: Iterable[str] = SYSTEM_BIN_DIRS,
    trusted: Callable[[Path], bool] = _root_only_writable,
) -> str | None:
    """The absolute path of program `name` in a root-owned system directory, or None.

    Never PATH: a program that runs as root must not be one the user (or anything running as
    the user) could have replaced.
    """
    for directory in dirs:
        path = Path(directory) / name
        if os.path.isabs(directory) and trusted(path):
            return str(path)
    return None


Finder = Callable[[str], str | None]


def require_system_binary(name: str, find: Finder = system_binary) -> str:
    """`find(name)`, or an error that says where Backdrop looked."""
    path = find(name)
    if path is None:
        raise FileNotFoundError(
            f"no {name} owned by root in {', '.join(SYSTEM_BIN_DIRS)}; "
            "run the commands shown in a terminal instead"
        )
    return path


def _modprobe_arguments() -> list[str]:
    return [MODULE_NAME, *MODULE_OPTIONS[:-1], f"card_label={CARD_LABEL}"]


def reload_module_hint() -> str:
    """What to type when the loaded v4l2loopback module no longer takes a sender."""
    load = shlex.join(["sudo", "modprobe", *_modprobe_arguments()])
    return (f"Close the camera in your meeting apps, then reload the module: "
            f"sudo modprobe -r {MODULE_NAME} && {load}")


def _write_line(path: str, content: str) -> str:
    """A POSIX sh line that writes the constant `content` to the constant `path`."""
    return f"printf '%s' {shlex.quote(content)} > {shlex.quote(path)}"


def linux_setup_commands(find: Finder = system_binary) -> list[list[str]]:
    """Commands (run as root) that load v4l2loopback now and at every boot."""
    modprobe = require_system_binary("modprobe", find)
    sh = require_system_binary("sh", find)
    return [
        [modprobe, *_modprobe_arguments()],
        [sh, "-c", _write_line(MODULES_LOAD_PATH, MODULES_LOAD_CONTENT)],
        [sh, "-c", _write_line(MODPROBE_CONF_PATH, MODPROBE_CONF_CONTENT)],
    ]


def linux_setup_script(find: Finder = system_binary) -> str:
    """The whole set-up as one `sh -c` script, for a single password prompt.

    Built from constants and the system modprobe only. A module already loaded (perhaps without
    exclusive_caps) is unloaded first so the new options take effect.
    """
    modprobe = require_system_binary("modprobe", find)
    unload = shlex.join([modprobe, "-r", MODULE_NAME])
    return "\n".join([
        "set -e",
        f"if [ -d {shlex.quote(LOADED_MODULE_DIR)} ]; then {unload}; fi",
        shlex.join([modprobe, *_modprobe_arguments()]),
        _write_line(MODULES_LOAD_PATH, MODULES_LOAD_CONTENT),
        _write_line(MODPROBE_CONF_PATH, MODPROBE_CONF_CONTENT),
    ])


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
