"""`backdrop setup-virtualcam`: print, and with --apply run, the virtual-camera set-up."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.devices.virtualcam_help import (
    LOADED_MODULE_DIR,
    MODPROBE_CONF_CONTENT,
    MODPROBE_CONF_PATH,
    MODULE_NAME,
    MODULE_OPTIONS,
    MODULES_LOAD_PATH,
    Finder,
    linux_setup_commands,
    require_system_binary,
    system_binary,
    virtualcam_fix,
)

_LOADED_MODULE = Path(LOADED_MODULE_DIR)


def add_setup_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "setup-virtualcam",
        help="set up the virtual camera (Linux: v4l2loopback; Windows/macOS: OBS)",
    )
    parser.add_argument(
        "--apply", action="store_true",
        help="on Linux, run the commands now (asks for your password through sudo or pkexec)",
    )
    parser.set_defaults(handler=_setup_command)


def shell_lines(module_loaded: bool | None = None) -> list[str]:
    """The set-up as a person would type it (what `setup-virtualcam` prints)."""
    if module_loaded is None:
        module_loaded = _LOADED_MODULE.exists()
    options = " ".join(MODULE_OPTIONS)
    lines = [f"sudo modprobe -r {MODULE_NAME}"] if module_loaded else []
    return lines + [
        f"sudo modprobe {MODULE_NAME} {options}",
        f"echo {MODULE_NAME} | sudo tee {MODULES_LOAD_PATH}",
        f"echo {shlex.quote(MODPROBE_CONF_CONTENT.strip())} | sudo tee {MODPROBE_CONF_PATH}",
    ]


def privileged_commands(
    is_root: bool | None = None, find: Finder = system_binary, module_loaded: bool | None = None
) -> list[list[str]]:
    """The Linux set-up commands, prefixed with sudo or pkexec unless already root.

    Every program is named by its absolute path in a root-owned system directory (`find`), so
    nothing the user can write runs as root. A module already loaded (perhaps without
    exclusive_caps) is unloaded first, so the new options take effect.
    """
    if is_root is None:
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if module_loaded is None:
        module_loaded = _LOADED_MODULE.exists()
    commands = linux_setup_commands(find)
    if module_loaded:
        commands = [[require_system_binary("modprobe", find), "-r", MODULE_NAME], *commands]
    if is_root:
        return commands
    elevate = find("sudo") or find("pkexec")
    if elevate is None:
        raise RuntimeError("neither sudo nor pkexec is installed; run these commands as root")
    return [[elevate, *command] for command in commands]


def _setup_command(args: argparse.Namespace) -> int:
    if not sys.platform.startswith("linux"):
        print(virtualcam_fix())
        return 0
    if not args.apply:
        print("Run these commands to load v4l2loopback now and at every boot:\n")
        for line in shell_lines():
            print("  " + line)
        print("\nOr run `backdrop setup-virtualcam --apply` to have Backdrop run them.")
        print("The module comes from the v4l2loopback-dkms package (Debian/Ubuntu) or "
              "akmod-v4l2loopback (Fedora, RPM Fusion).")
        return 0
    try:
        commands = privileged_commands()
    except (RuntimeError, FileNotFoundError) as error:
        print(f"backdrop: {error}", file=sys.stderr)
        return 2
    for command in commands:
        print("+ " + shlex.join(command))
        completed = subprocess.run(command, check=False)
        if completed.returncode != 0:
            print(f"backdrop: that command failed (exit {completed.returncode}).\n"
                  + virtualcam_fix(), file=sys.stderr)
            return 1
    print("The virtual camera 'Backdrop' is set up. Start Backdrop and choose it in your "
          "meeting app.")
    return 0
