"""The virtual-camera diagnosis on Windows and macOS, where Backdrop sends to OBS's camera:
is it registered, and is OBS's own Virtual Camera running (only one sender at a time)."""

from __future__ import annotations

import sys
from pathlib import Path

from app.devices.findings import FAIL, OK, WARN, Finding, Machine, running_programs
from app.devices.virtualcam_help import virtualcam_fix

# The DirectShow filter OBS registers, which pyvirtualcam checks for too.
OBS_CLSID = "{A3FCE0F5-3493-419F-958A-ABA1250EC20B}"
OBS_CLSID_KEY = rf"CLSID\{OBS_CLSID}"
WINDOWS_DLLS = ("obs-virtualcam-module64.dll", "obs-virtualcam-module32.dll")
WINDOWS_DLL_DIR = Path("obs-studio", "data", "obs-plugins", "win-dshow")
# OBS's queue to its camera; it exists while someone (OBS or Backdrop) sends.
WINDOWS_QUEUE_NAME = "OBSVirtualCamVideo"
MAC_DAL_PLUGIN = Path("Library", "CoreMediaIO", "Plug-Ins", "DAL", "obs-mac-virtualcam.plugin")
MAC_EXTENSION = "com.obsproject.obs-studio.mac-camera-extension.systemextension"
MAC_OBS_APP = Path("Applications", "OBS.app")
OBS_PROGRAMS = {"win32": ("obs64.exe", "obs32.exe", "obs.exe"), "darwin": ("OBS", "obs")}
STOP_OBS = "Stop OBS's Virtual Camera (the button in OBS's Controls), or quit OBS."


def obs_findings(machine: Machine) -> list[Finding]:
    if machine.platform == "win32":
        registered = _windows_registered(machine)
    elif machine.platform == "darwin":
        registered = _mac_registered(machine)
    else:
        return [Finding(FAIL, f"Backdrop has no virtual camera for this system "
                              f"({machine.platform}).", virtualcam_fix(machine.platform))]
    return [registered, _obs_running(machine)]


def _windows_registered(machine: Machine) -> Finding:
    has = machine.registry_has or windows_class_registered
    if has(OBS_CLSID_KEY):
        return Finding(OK, "OBS's virtual camera is registered (OBS Virtual Camera).")
    dlls = [machine.program_files / WINDOWS_DLL_DIR / name for name in WINDOWS_DLLS]
    present = [dll for dll in dlls if dll.exists()]
    if present:
        return Finding(FAIL, "OBS is installed, but its virtual camera is not registered.",
                       "Open OBS, click Start Virtual Camera once, then Stop Virtual Camera; or "
                       f'as administrator: regsvr32 "{present[0]}"')
    return Finding(FAIL, "OBS's virtual camera is not installed.",
                   _one_line(virtualcam_fix("win32")))


def _mac_registered(machine: Machine) -> Finding:
    extensions = machine.root / "Library" / "SystemExtensions"
    try:
        extension = next(extensions.glob(f"*/{MAC_EXTENSION}"), None)
    except OSError:
        extension = None
    if extension is not None:
        return Finding(OK, "OBS's camera extension is installed (OBS 30 or newer).")
    if (machine.root / MAC_DAL_PLUGIN).exists():
        return Finding(OK, "OBS's virtual camera plug-in is installed (OBS 29 or older). "
                           "macOS 13 and later prefer OBS 30's camera extension.")
    if (machine.root / MAC_OBS_APP).exists():
        return Finding(FAIL, "OBS is installed, but its virtual camera is not.",
                       "Open OBS, click Start Virtual Camera and allow the OBS system extension "
                       "(System Settings > Privacy & Security), then stop it and quit OBS.")
    return Finding(FAIL, "OBS's virtual camera is not installed.",
                   _one_line(virtualcam_fix("darwin")))


def _obs_running(machine: Machine) -> Finding:
    names = {name.lower() for name in running_programs(machine)}
    obs = any(program.lower() in names for program in OBS_PROGRAMS[machine.platform])
    active = (machine.obs_output_active or windows_queue_open)()  # None: cannot tell
    if obs and active:
        return Finding(FAIL, "OBS's own Virtual Camera is running, which blocks Backdrop's "
                             "(one sender at a time).", STOP_OBS)
    if obs and active is None:
        return Finding(WARN, "OBS is running; if its Virtual Camera is on, Backdrop cannot send.",
                       STOP_OBS)
    if obs:
        return Finding(OK, "OBS is running, but its Virtual Camera is off.")
    if active:
        return Finding(WARN, "Another program already sends to OBS's virtual camera (a second "
                             "Backdrop?); a second sender cannot start.", "Close that program.")
    return Finding(OK, "OBS is not running, so its Virtual Camera does not block Backdrop's.")


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines()[1:])


def windows_class_registered(key: str) -> bool:
    """Whether HKEY_CLASSES_ROOT has `key` (Windows only)."""
    if sys.platform != "win32":
        return False
    import winreg

    try:
        winreg.CloseKey(winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, key))
    except OSError:
        return False
    return True


def windows_queue_open() -> bool | None:
    """Whether OBS's camera queue exists, that is someone sends to the camera (Windows)."""
    if sys.platform != "win32":
        return None
    import ctypes

    file_map_read = 0x0004
    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenFileMappingW(file_map_read, False, WINDOWS_QUEUE_NAME)
    if not handle:
        return False
    kernel32.CloseHandle(handle)
    return True
