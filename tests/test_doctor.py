"""`backdrop doctor`: the lines a user reads and the exit code, on fake machines (a sysfs, /proc,
/lib/modules and programs under tmp_path; Windows and macOS with a registry, files and process
list given) and once for real on this machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from app.cli.doctor import doctor
from app.devices.doctor import (
    PYVIRTUALCAM_BELOW,
    PYVIRTUALCAM_MIN,
    PYVIRTUALCAM_REQUIREMENT,
    diagnose,
    pyvirtualcam_finding,
)
from app.devices.doctor_obs import MAC_DAL_PLUGIN, MAC_EXTENSION, OBS_CLSID_KEY, WINDOWS_DLL_DIR
from app.devices.findings import FAIL, OK, Machine
from tests.fake_machine import (  # noqa: F401 - linux_fixture is a fixture
    RELEASE,
    FakeLinux,
    linux_fixture,
)

ROOT = Path(__file__).resolve().parents[1]


def _doctor(machine: Machine, capsys: pytest.CaptureFixture[str],
            output_size: tuple[int, int] = (1280, 720)) -> tuple[int, str]:
    code = doctor(output_size, machine)
    return code, capsys.readouterr().out


def test_a_kernel_without_module_support_is_named_with_what_still_works(
    linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    (linux.proc / "modules").unlink()
    code, out = _doctor(linux.machine(), capsys)
    assert code == 1
    assert f"FAIL  This kernel ({RELEASE}) has no loadable-module support" in out
    assert "-> Run Backdrop on a system with its distribution's standard kernel" in out
    assert "backdrop run --output out.mp4" in out
    assert "cannot work yet" in out
    assert "exclusive_caps" not in out  # nothing about a module that cannot exist


def test_an_installed_module_that_is_not_loaded_says_to_run_setup(
    linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.install()
    linux.programs["mokutil"] = (0, "SecureBoot enabled")
    code, out = _doctor(linux.machine(), capsys)
    assert code == 1
    assert "FAIL  v4l2loopback is installed" in out and "but not loaded" in out
    assert "-> Run `backdrop setup-virtualcam`" in out
    assert "warn  Secure Boot is on" in out and "sudo mokutil --import" in out


def test_a_missing_module_says_how_to_install_it_and_a_missing_kernel_tree_says_reboot(
    linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.programs["modinfo"] = (1, "modinfo: ERROR: Module v4l2loopback not found.")
    code, out = _doctor(linux.machine(), capsys)
    assert code == 1
    assert f"no /lib/modules/{RELEASE}" in out and "-> Reboot, then: Install it" in out
    (linux.root / "lib" / "modules" / RELEASE).mkdir(parents=True)
    code, out = _doctor(linux.machine(), capsys)
    assert code == 1
    assert f"FAIL  v4l2loopback is not installed for the running kernel {RELEASE}." in out
    assert "sudo apt install v4l2loopback-dkms" in out


def test_loaded_without_a_backdrop_device_names_the_devices_there_are(
    linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.load()
    linux.device(0, "Integrated Camera")
    (linux.video / "video0" / "format").unlink()  # a real camera has no format attribute
    linux.device(2, "OBS Virtual Camera")
    code, out = _doctor(linux.machine(), capsys)
    assert code == 0
    assert f"warn  No loopback device is labelled “Backdrop” (there is {linux.dev}/video2 " \
           "“OBS Virtual Camera”)" in out
    assert "Integrated Camera" not in out
    assert "-> `backdrop setup-virtualcam --apply` reloads the module" in out


def test_loaded_with_no_device_at_all_cannot_work(
    linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.load()
    code, out = _doctor(linux.machine(), capsys)
    assert code == 1
    assert "FAIL  v4l2loopback is loaded but made no devices." in out
    assert "sudo modprobe -r v4l2loopback" in out


def test_a_device_held_at_another_size_names_the_program_and_both_ways_out(
    linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.load()
    node = linux.device(5, "Backdrop", fmt="YU12:640x480@30")
    linux.process(4242, "zoom", opened=node)
    linux.process(77, "bash")
    code, out = _doctor(linux.machine(), capsys)
    assert code == 1
    assert f"FAIL  {node} is held at 640x480 (YU12:640x480@30) by zoom (pid 4242); Backdrop " \
           "sends 1280x720" in out
    assert "-> Close the camera in zoom (pid 4242), or choose 640x480 as the output size" in out
    assert "bash" not in out


def test_a_reader_at_backdrops_own_size_is_fine(
    linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.load()
    node = linux.device(5, "Backdrop", fmt="YU12:1280x720@30")
    linux.process(4242, "chrome", opened=node)
    code, out = _doctor(linux.machine(), capsys)
    assert code == 0
    assert f"ok    {node} streams YU12:1280x720@30." in out
    assert f"ok    {node} is open in chrome (pid 4242)." in out


def test_exclusive_caps_off_warns_that_chrome_will_not_list_it(
    linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.load(exclusive_caps="N,N,N,N,N,N,N,N")
    linux.device(5, "Backdrop")
    code, out = _doctor(linux.machine(), capsys)
    assert code == 0
    assert "warn  exclusive_caps is off, so Chrome and Google Meet do not list the camera." in out
    assert "exclusive_caps=1" in out


def test_all_fine(linux: FakeLinux, capsys: pytest.CaptureFixture[str]) -> None:
    linux.load()
    node = linux.device(5, "Backdrop")
    linux.programs["mokutil"] = (0, "SecureBoot disabled")
    code, out = _doctor(linux.machine(), capsys)
    assert code == 0
    assert out.splitlines() == [
        "Backdrop's virtual camera (Linux, sending 1280x720):",
        "ok    pyvirtualcam 0.15.0 is installed.",
        "ok    v4l2loopback 0.15.4 is loaded.",
        "ok    Secure Boot is off, so an unsigned module loads.",
        f"ok    {node} is the virtual camera labelled “Backdrop”.",
        "ok    exclusive_caps is on, so Chrome and Google Meet can list the camera (while "
        "Backdrop sends).",
        f"ok    Nobody sends to {node} now (its format is empty).",
        f"ok    No other program has {node} open now.",
        "ok    PipeWire is not running; apps open the device directly.",
        "The virtual camera should work.",
    ]


def test_pipewire_and_0_12_say_what_to_do_when_they_bite(
    linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.load(version="0.12.7")
    linux.device(5, "Backdrop")
    linux.process(900, "pipewire")
    code, out = _doctor(linux.machine(), capsys)
    assert code == 0
    assert "warn  v4l2loopback 0.12.7 is loaded." in out
    assert "sudo modprobe -r v4l2loopback && sudo modprobe v4l2loopback" in out
    assert "ok    PipeWire is running." in out
    assert "-> If such an app does not list Backdrop: start Backdrop, then run " \
           "systemctl --user restart wireplumber" in out


# --- Windows and macOS ---------------------------------------------------------------------
def _obs_machine(tmp_path: Path, platform: str, processes: list[str],
                 registered: bool = False, active: bool | None = None,
                 pyvirtualcam: str | None = "0.15.0") -> Machine:
    return Machine(platform=platform, root=tmp_path, program_files=tmp_path / "Program Files",
                   processes=lambda: processes,
                   registry_has=lambda key: registered and key == OBS_CLSID_KEY,
                   obs_output_active=lambda: active,
                   package_version=lambda name: pyvirtualcam if name == "pyvirtualcam" else None)


def test_windows_with_obs_registered_and_not_running_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine = _obs_machine(tmp_path, "win32", ["explorer.exe"], registered=True, active=False)
    code, out = _doctor(machine, capsys)
    assert code == 0
    assert out.splitlines()[1:] == [
        "ok    pyvirtualcam 0.15.0 is installed.",
        "ok    OBS's virtual camera is registered (OBS Virtual Camera).",
        "ok    OBS is not running, so its Virtual Camera does not block Backdrop's.",
        "The virtual camera should work.",
    ]


def test_windows_obs_installed_but_not_registered_and_obs_sending_both_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dll_dir = tmp_path / "Program Files" / WINDOWS_DLL_DIR
    dll_dir.mkdir(parents=True)
    (dll_dir / "obs-virtualcam-module64.dll").write_bytes(b"")
    machine = _obs_machine(tmp_path, "win32", ["obs64.exe"], active=True)
    code, out = _doctor(machine, capsys)
    assert code == 1
    assert "FAIL  OBS is installed, but its virtual camera is not registered." in out
    assert "regsvr32" in out and "obs-virtualcam-module64.dll" in out
    assert "FAIL  OBS's own Virtual Camera is running, which blocks Backdrop's" in out
    assert "-> Stop OBS's Virtual Camera" in out


def test_windows_without_obs_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _doctor(_obs_machine(tmp_path, "win32", []), capsys)
    assert code == 1
    assert "FAIL  OBS's virtual camera is not installed." in out
    assert "Install OBS Studio 26 or newer" in out


def test_macos_camera_extension_with_obs_open_warns_to_stop_its_camera(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Library" / "SystemExtensions" / "ABCD-1234" / MAC_EXTENSION).mkdir(parents=True)
    code, out = _doctor(_obs_machine(tmp_path, "darwin", ["Finder", "OBS"]), capsys)
    assert code == 0
    assert "ok    OBS's camera extension is installed (OBS 30 or newer)." in out
    assert "warn  OBS is running; if its Virtual Camera is on, Backdrop cannot send." in out
    assert "-> Stop OBS's Virtual Camera" in out


def test_macos_old_plugin_counts_and_nothing_installed_fails(tmp_path: Path) -> None:
    findings = diagnose(_obs_machine(tmp_path, "darwin", []))
    assert findings[1].status == FAIL and "Install OBS Studio 30" in findings[1].advice
    (tmp_path / MAC_DAL_PLUGIN).mkdir(parents=True)
    findings = diagnose(_obs_machine(tmp_path, "darwin", []))
    assert not any(finding.status == FAIL for finding in findings)


# --- pyvirtualcam ---------------------------------------------------------------------------
def test_pyvirtualcam_too_old_fails_on_macos_and_warns_elsewhere(
    tmp_path: Path, linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Library" / "SystemExtensions" / "ABCD-1234" / MAC_EXTENSION).mkdir(parents=True)
    code, out = _doctor(_obs_machine(tmp_path, "darwin", [], pyvirtualcam="0.13.1"), capsys)
    assert code == 1
    assert ("FAIL  pyvirtualcam 0.13.1 is installed; Backdrop needs 0.14 or newer (older ones "
            "cannot reach OBS 30's macOS camera extension).") in out
    assert '-> In Backdrop\'s environment: python -m pip install "pyvirtualcam>=0.14,<0.16"' in out
    linux.load()
    linux.device(5, "Backdrop")
    linux.pyvirtualcam = "0.12.0"
    code, out = _doctor(linux.machine(), capsys)
    assert code == 0
    assert "warn  pyvirtualcam 0.12.0 is installed; Backdrop needs 0.14 or newer" in out


def test_pyvirtualcam_missing_fails_and_one_newer_than_tested_warns(
    linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.load()
    linux.device(5, "Backdrop")
    linux.pyvirtualcam = None
    code, out = _doctor(linux.machine(), capsys)
    assert code == 1
    assert "FAIL  pyvirtualcam is not installed, so Backdrop cannot send to any virtual " \
           "camera." in out
    linux.pyvirtualcam = "0.16.0"
    code, out = _doctor(linux.machine(), capsys)
    assert code == 0
    assert "warn  pyvirtualcam 0.16.0 is installed, newer than Backdrop is tested with " \
           "(below 0.16)." in out


def test_the_doctors_pyvirtualcam_range_is_the_one_pyproject_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert PYVIRTUALCAM_REQUIREMENT in project["dependencies"]
    low, high = PYVIRTUALCAM_REQUIREMENT.removeprefix("pyvirtualcam>=").split(",<")
    assert (tuple(map(int, low.split("."))), tuple(map(int, high.split(".")))) == (
        PYVIRTUALCAM_MIN, PYVIRTUALCAM_BELOW)


def test_this_machines_pyvirtualcam_is_supported() -> None:
    finding = pyvirtualcam_finding(Machine())
    assert finding.status == OK, finding.text


# --- this machine --------------------------------------------------------------------------
def test_the_real_command_on_this_machine(tmp_path: Path) -> None:
    env = dict(os.environ, BACKDROP_CONFIG_DIR=str(tmp_path / "config"), PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "app.cli.main", "doctor"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("Backdrop's virtual camera (")
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("The virtual camera ")
    assert result.returncode == (1 if "FAIL" in result.stdout else 0)
    if sys.platform.startswith("linux") and not Path("/proc/modules").exists():
        assert result.returncode == 1
        assert "has no loadable-module support" in result.stdout
        assert "backdrop run --output out.mp4" in result.stdout


def test_a_device_named_in_the_settings_is_the_one_checked(
    linux: FakeLinux, capsys: pytest.CaptureFixture[str]
) -> None:
    linux.load(exclusive_caps="Y,N")
    linux.device(5, "Backdrop")
    obs = linux.device(7, "OBS Virtual Camera")
    code = doctor((1280, 720), linux.machine(), device=str(obs))
    out = capsys.readouterr().out
    assert code == 0
    assert f"ok    The settings send to {obs} (“OBS Virtual Camera”)." in out
    assert "warn  exclusive_caps is off" in out  # video7's, the second value
    code = doctor((1280, 720), linux.machine(), device=str(linux.dev / "video0"))
    out = capsys.readouterr().out
    assert code == 1
    assert f"FAIL  The settings send to {linux.dev / 'video0'}, which is not a v4l2loopback" in out
