"""What is right and wrong with the virtual camera, in plain findings: `backdrop doctor`
prints them, and the window's virtual-camera panel shows the same lines.

Every check reads the machine through a `Machine` (app.devices.findings), so tests run the
Linux, Windows and macOS checks over fake trees on any computer.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.devices.doctor_linux import linux_findings
from app.devices.doctor_obs import obs_findings
from app.devices.findings import FAIL, OK, WARN, Finding, Machine


def diagnose(machine: Machine | None = None, output_size: tuple[int, int] = (1280, 720),
             device: str = "") -> list[Finding]:
    """Everything known about the virtual camera on `machine` (this computer by default), in
    the order a frame meets it; `output_size` and `device` are what Backdrop will open."""
    machine = machine or Machine()
    if machine.platform.startswith("linux"):
        return linux_findings(machine, output_size, device)
    return obs_findings(machine)


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
