"""Backdrop's virtual camera on a real v4l2loopback device, in a QEMU VM (tests/vm/loopback_vm.py),
on Debian 12's v4l2loopback 0.12.7 and the newest release Debian has. `make test-vcam` runs it;
the normal test run skips it (it boots VMs). What the guest checks is tests/vm/guest/sink_cases.py.

A VM that cannot be prepared (no network for the packages, no QEMU), or that never reaches its
init in three boots, skips with the reason; a case that fails inside the VM fails the test.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import loopback_vm  # noqa: E402 - the harness sits beside this file, not in a package

pytestmark = pytest.mark.skipif(
    os.environ.get("BACKDROP_VM_TESTS") != "1", reason="boots a VM: run `make test-vcam`"
)
CASES = ("consumer_after_start", "restart_with_consumer_open", "camera_size_change",
         "python_backend", "chromium_sees_backdrop")


@pytest.mark.parametrize("version", ["bookworm", "latest"])
def test_backdrops_virtual_camera_on_a_real_v4l2loopback_device(version: str) -> None:
    try:
        resolved = loopback_vm.resolve_version(version)
        loopback_vm.prepare(resolved)
    except Exception as error:  # noqa: BLE001 - any failure to fetch or build is a skip
        pytest.skip(f"could not prepare a VM with v4l2loopback {version}: {error}")
    python = shlex.quote(sys.executable)
    command = (f"cd {shlex.quote(str(ROOT))} && export PYTHONPATH={shlex.quote(str(ROOT))} && "
               f"{python} tests/vm/guest/sink_cases.py")
    # Chromium needs the memory, and under software emulation most of a minute.
    result = loopback_vm.run_in_vm_full(command, resolved, timeout=480, mem_mib=3072,
                                        project=ROOT)
    report = f"v4l2loopback {resolved}, rc {result.rc}:\n{result.output}\n{result.dmesg[-2000:]}"
    assert result.rc == 0, report
    for case in CASES:
        assert f"PASS {case}" in result.output, report
