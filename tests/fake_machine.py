"""A fake Linux machine for the virtual-camera diagnosis: a sysfs, /proc, /lib/modules and
programs under tmp_path, built file by file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from app.devices.findings import Machine

RELEASE = "6.1.0-test-amd64"


class FakeLinux:
    """A Linux machine built file by file: modules, loopback devices, processes, programs."""

    def __init__(self, tmp_path: Path) -> None:
        self.root, self.proc = tmp_path / "root", tmp_path / "proc"
        self.video, self.dev = tmp_path / "sys-video", tmp_path / "dev"
        for folder in (self.root, self.proc, self.video, self.dev):
            folder.mkdir()
        self.programs: dict[str, tuple[int, str]] = {}
        self.pyvirtualcam: str | None = "0.15.0"
        (self.proc / "modules").write_text("videodev 1 0 - Live\n")

    def install(self) -> None:
        modules = self.root / "lib" / "modules" / RELEASE / "updates" / "dkms"
        modules.mkdir(parents=True)
        (modules / "v4l2loopback.ko.xz").write_bytes(b"")

    def load(self, version: str = "0.15.4", exclusive_caps: str = "Y,N,N,N,N,N,N,N") -> None:
        module = self.root / "sys" / "module" / "v4l2loopback"
        (module / "parameters").mkdir(parents=True)
        (module / "version").write_text(version + "\n")
        (module / "parameters" / "exclusive_caps").write_text(exclusive_caps + "\n")

    def device(self, number: int, label: str, fmt: str = "") -> Path:
        entry = self.video / f"video{number}"
        entry.mkdir()
        (entry / "name").write_text(label + "\n")
        (entry / "format").write_text(fmt + "\n")
        node = self.dev / f"video{number}"
        node.touch()
        return node

    def camera(self, number: int, name: str) -> Path:
        """A real camera: a sysfs entry without v4l2loopback's `format`, and its node."""
        entry = self.video / f"video{number}"
        entry.mkdir()
        (entry / "name").write_text(name + "\n")
        node = self.dev / f"video{number}"
        node.touch()
        return node

    def process(self, pid: int, name: str, opened: Path | None = None) -> None:
        folder = self.proc / str(pid)
        (folder / "fd").mkdir(parents=True)
        (folder / "comm").write_text(name + "\n")
        if opened is not None:
            os.symlink(os.path.realpath(opened), folder / "fd" / "3")

    def run(self, argv: Sequence[str]) -> tuple[int, str] | None:
        return self.programs.get(argv[0])

    def machine(self) -> Machine:
        return Machine(platform="linux", root=self.root, proc_dir=self.proc,
                       video_dir=self.video, dev_dir=self.dev, kernel_release=RELEASE,
                       run=self.run, own_pid=1,
                       package_version=self.package_version)

    def package_version(self, package: str) -> str | None:
        return self.pyvirtualcam if package == "pyvirtualcam" else None


@pytest.fixture(name="linux")
def linux_fixture(tmp_path: Path) -> FakeLinux:
    return FakeLinux(tmp_path)
