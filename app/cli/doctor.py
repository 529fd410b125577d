"""`backdrop doctor`: what is right and wrong with the virtual camera, in plain lines; exits 1
when the virtual camera cannot work."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli.args import size_arg
from app.devices.doctor import cannot_work, diagnose, report_lines
from app.devices.findings import Machine
from app.settings import load_settings


def add_doctor_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor", help="say what is right and wrong with the virtual camera (exits 1 when it "
        "cannot work)",
    )
    parser.add_argument("--output-size", type=size_arg,
                        help="the size Backdrop will send (default: the saved setting)")
    parser.set_defaults(handler=_doctor_command)


def _doctor_command(args: argparse.Namespace) -> int:
    loaded = load_settings()
    for message in loaded.messages:
        print(f"backdrop: {message}", file=sys.stderr)
    output = loaded.settings.output
    return doctor(args.output_size or (output.width_px, output.height_px), device=output.device)


def doctor(output_size: tuple[int, int], machine: Machine | None = None, device: str = "") -> int:
    """Print the diagnosis of `machine` (this computer by default); 1 if the camera cannot
    work."""
    machine = machine or Machine()
    findings = diagnose(machine, output_size, device)
    print(f"Backdrop's virtual camera ({_system_name(machine.platform)}, sending "
          f"{output_size[0]}x{output_size[1]}):")
    for line in report_lines(findings):
        print(line)
    return 1 if cannot_work(findings) else 0


def _system_name(platform: str) -> str:
    if platform.startswith("linux"):
        return "Linux"
    return {"win32": "Windows", "darwin": "macOS"}.get(platform, platform)
