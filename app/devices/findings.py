"""The vocabulary of the virtual-camera diagnosis: a `Finding` (one line of it) and the
`Machine` the checks read, which tests build over a fake tree of /sys, /proc and the rest."""

from __future__ import annotations

import importlib.metadata
import os
import platform as platform_module
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.devices.camera import device_dir, sysfs_video_dir
from app.devices.virtualcam_help import MODULE_NAME

OK, WARN, FAIL = "ok", "warn", "fail"
# Where modinfo and mokutil usually are, though a user's PATH often lacks them.
_SYSTEM_DIRS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")
_RUN_TIMEOUT_S = 10.0

Runner = Callable[[Sequence[str]], "tuple[int, str] | None"]


@dataclass(frozen=True)
class Finding:
    """One line of the diagnosis: `status` is ok, warn or fail; `advice` says what to do."""

    status: str
    text: str
    advice: str = ""


def run_program(argv: Sequence[str]) -> tuple[int, str] | None:
    """(exit code, stdout and stderr) of a program, or None when it is not installed."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *_SYSTEM_DIRS])
    program = shutil.which(argv[0], path=search)
    if program is None:
        return None
    try:
        done = subprocess.run([program, *argv[1:]], capture_output=True, text=True,
                              timeout=_RUN_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return 1, str(error)
    return done.returncode, (done.stdout + done.stderr).strip()


def installed_version(package: str) -> str | None:
    """The version of an installed Python package, or None when it is not installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class Machine:
    """Where the checks look. `root` holds /sys/module, /lib/modules and macOS's /Library;
    `processes`, when given, names the running programs (else /proc, tasklist or ps);
    `package_version` says which version of a Python package Backdrop runs with."""

    platform: str = sys.platform
    root: Path = Path("/")
    proc_dir: Path = Path("/proc")
    video_dir: Path = field(default_factory=sysfs_video_dir)
    dev_dir: Path = field(default_factory=device_dir)
    program_files: Path = field(
        default_factory=lambda: Path(os.environ.get("ProgramFiles", r"C:\Program Files")))
    kernel_release: str = field(default_factory=platform_module.release)
    run: Runner = run_program
    processes: Callable[[], list[str]] | None = None
    registry_has: Callable[[str], bool] | None = None
    obs_output_active: Callable[[], bool | None] | None = None
    own_pid: int = field(default_factory=os.getpid)
    package_version: Callable[[str], str | None] = installed_version

    @property
    def module_support(self) -> bool:
        """Whether the kernel loads modules at all (a kernel without it has no /proc/modules)."""
        return (self.proc_dir / "modules").exists()

    @property
    def module_dir(self) -> Path:
        return self.root / "sys" / "module" / MODULE_NAME

    def read(self, path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None


def running_programs(machine: Machine) -> list[str]:
    """The names of the running programs: given, from /proc, or from tasklist or ps."""
    if machine.processes is not None:
        return machine.processes()
    if machine.platform.startswith("linux"):
        return _proc_names(machine.proc_dir)
    argv = (["tasklist", "/fo", "csv", "/nh"] if machine.platform == "win32"
            else ["ps", "-axco", "comm"])
    answer = machine.run(argv)
    if answer is None or answer[0] != 0:
        return []
    return [line.split(",")[0].strip('"') for line in answer[1].splitlines() if line.strip()]


def _proc_names(proc_dir: Path) -> list[str]:
    names = []
    try:
        entries = [entry for entry in proc_dir.iterdir() if entry.name.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            names.append((entry / "comm").read_text().strip())
        except OSError:
            continue
    return names
