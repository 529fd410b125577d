"""What is right and wrong with the virtual camera, in plain findings: `backdrop doctor`
prints them, and the window's virtual-camera panel shows the same lines.

Every check reads the machine through a `Machine` (app.devices.findings), so tests run the
Linux, Windows and macOS checks over fake trees on any computer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.devices.doctor_linux import linux_findings
from app.devices.doctor_obs import obs_findings
from app.devices.findings import FAIL, OK, WARN, Finding, Machine

# The pyvirtualcam versions Backdrop supports: pyproject.toml's pin, word for word (a test keeps
# the two in step). 0.12 and 0.13 cannot reach OBS 30's macOS camera extension.
PYVIRTUALCAM_REQUIREMENT = "pyvirtualcam>=0.14,<0.16"
PYVIRTUALCAM_MIN, PYVIRTUALCAM_BELOW = (0, 14), (0, 16)
_UPGRADE = f"In Backdrop's environment: python -m pip install \"{PYVIRTUALCAM_REQUIREMENT}\""
_LEADING_NUMBERS = re.compile(r"^(\d+)\.(\d+)")


def diagnose(machine: Machine | None = None, output_size: tuple[int, int] = (1280, 720),
             device: str = "") -> list[Finding]:
    """Everything known about the virtual camera on `machine` (this computer by default), in
    the order a frame meets it; `output_size` and `device` are what Backdrop will open."""
    machine = machine or Machine()
    findings = [pyvirtualcam_finding(machine)]
    if machine.platform.startswith("linux"):
        return findings + linux_findings(machine, output_size, device)
    return findings + obs_findings(machine)


def pyvirtualcam_finding(machine: Machine) -> Finding:
    """Whether the pyvirtualcam Backdrop sends through is one it supports; too old is fatal on
    macOS (OBS 30's camera extension) and a warning elsewhere."""
    version = machine.package_version("pyvirtualcam")
    if version is None:
        return Finding(FAIL, "pyvirtualcam is not installed, so Backdrop cannot send to any "
                             "virtual camera.", _UPGRADE)
    match = _LEADING_NUMBERS.match(version)
    number = (int(match.group(1)), int(match.group(2))) if match else None
    if number is None or number < PYVIRTUALCAM_MIN:
        status = FAIL if machine.platform == "darwin" else WARN
        return Finding(status, f"pyvirtualcam {version} is installed; Backdrop needs "
                               f"{_dotted(PYVIRTUALCAM_MIN)} or newer (older ones cannot reach "
                               "OBS 30's macOS camera extension).", _UPGRADE)
    if number >= PYVIRTUALCAM_BELOW:
        return Finding(WARN, f"pyvirtualcam {version} is installed, newer than Backdrop is "
                             f"tested with (below {_dotted(PYVIRTUALCAM_BELOW)}).",
                       "If the virtual camera misbehaves: " + _UPGRADE)
    return Finding(OK, f"pyvirtualcam {version} is installed.")


def _dotted(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def cannot_work(findings: Sequence[Finding]) -> bool:
    return any(finding.status == FAIL for finding in findings)


_LABELS = {OK: "ok  ", WARN: "warn", FAIL: "FAIL"}


def report_lines(findings: Sequence[Finding]) -> list[str]:
    """The findings as a person reads them: a status, the text, and what to do beneath."""
    lines = []
    for finding in findings:
        lines.append(f"{_LABELS[finding.status]}  {finding.text}")
        if finding.advice:
            lines.append(f"      -> {finding.advice}")
    if cannot_work(findings):
        lines.append("The virtual camera cannot work yet: fix the FAIL lines above.")
    elif any(finding.status == WARN for finding in findings):
        lines.append("The virtual camera should work; the warnings say what may still go wrong.")
    else:
        lines.append("The virtual camera should work.")
    return lines
