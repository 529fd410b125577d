"""`backdrop setup-virtualcam`: print, and with --apply run, the virtual-camera set-up."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from typing import Any

from app.virtualcam_help import linux_setup_commands, virtualcam_fix


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


def privileged_commands(is_root: bool | None = None, have: Any = shutil.which) -> list[list[str]]:
    """The Linux set-up commands, prefixed with sudo or pkexec unless already root."""
    if is_root is None:
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    commands = linux_setup_commands()
    if is_root:
        return commands
    elevate = "sudo" if have("sudo") else "pkexec" if have("pkexec") else None
    if elevate is None:
        raise RuntimeError("neither sudo nor pkexec is installed; run these commands as root")
    return [[elevate, *command] for command in commands]


def _setup_command(args: argparse.Namespace) -> int:
    if not sys.platform.startswith("linux"):
        print(virtualcam_fix())
        return 0
    if not args.apply:
        print("Run these commands to load v4l2loopback now and at every boot:\n")
        for command in linux_setup_commands():
            print("  sudo " + shlex.join(command))
        print("\nOr run `backdrop setup-virtualcam --apply` to have Backdrop run them.")
        print("The module comes from the v4l2loopback-dkms package (Debian/Ubuntu) or "
              "akmod-v4l2loopback (Fedora, RPM Fusion).")
        return 0
    try:
        commands = privileged_commands()
    except RuntimeError as error:
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
