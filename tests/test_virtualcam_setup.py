"""`backdrop setup-virtualcam` and the GUI's "Set up…": what they run as root on Linux.

Nothing here runs sudo or pkexec; the system programs are found by a fake `find` so the tests
run the same on any machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.devices.virtualcam_help import (
    MODPROBE_CONF_CONTENT,
    MODULES_LOAD_CONTENT,
    SYSTEM_BIN_DIRS,
    system_binary,
)
from app.devices.virtualcam_setup import privileged_commands, shell_lines
from app.gui.vcam_panel import setup_command

SYSTEM_PATHS = {"modprobe": "/usr/sbin/modprobe", "sh": "/bin/sh", "sudo": "/usr/bin/sudo",
                "pkexec": "/usr/bin/pkexec"}


def _system_with(*names: str) -> Callable[[str], str | None]:
    """A `find` for a system that has these programs (and modprobe and sh) in the usual places."""
    return lambda name: SYSTEM_PATHS[name] if name in {*names, "modprobe", "sh"} else None


def _assert_only_system_programs(command: list[str]) -> None:
    user_dirs = (sys.prefix, sys.exec_prefix, str(Path(sys.executable).parent),
                 os.path.expanduser("~"), str(Path(__file__).resolve().parents[1]))
    for argument in command:
        assert not any(user_dir in argument for user_dir in user_dirs), argument
    programs = [argument for argument in command if argument.startswith("/")]
    assert programs and all(os.path.dirname(program) in SYSTEM_BIN_DIRS for program in programs)


def test_commands_are_elevated_with_sudo_or_pkexec_unless_root() -> None:
    with_sudo = privileged_commands(is_root=False, find=_system_with("sudo"),
                                    module_loaded=False)
    assert all(command[0] == "/usr/bin/sudo" for command in with_sudo)
    assert with_sudo[0][1:3] == ["/usr/sbin/modprobe", "v4l2loopback"]
    assert "exclusive_caps=1" in with_sudo[0]
    assert [command[1] for command in with_sudo[1:]] == ["/bin/sh", "/bin/sh"]
    with_pkexec = privileged_commands(is_root=False, find=_system_with("pkexec"),
                                      module_loaded=False)
    assert all(command[0] == "/usr/bin/pkexec" for command in with_pkexec)
    as_root = privileged_commands(is_root=True, find=_system_with(), module_loaded=False)
    assert as_root[0][0] == "/usr/sbin/modprobe"
    with pytest.raises(RuntimeError, match="sudo nor pkexec"):
        privileged_commands(is_root=False, find=_system_with(), module_loaded=False)


def test_the_cli_runs_only_system_programs_as_root() -> None:
    for command in privileged_commands(is_root=False, find=_system_with("sudo"),
                                       module_loaded=True):
        _assert_only_system_programs(command)


def test_a_module_loaded_without_the_right_options_is_unloaded_first() -> None:
    commands = privileged_commands(is_root=True, find=_system_with(), module_loaded=True)
    assert commands[0] == ["/usr/sbin/modprobe", "-r", "v4l2loopback"]
    assert commands[1][0] == "/usr/sbin/modprobe" and "-r" not in commands[1]
    assert shell_lines(module_loaded=True)[0] == "sudo modprobe -r v4l2loopback"


@pytest.mark.parametrize(("index", "content"), [(1, MODULES_LOAD_CONTENT),
                                                (2, MODPROBE_CONF_CONTENT)])
def test_the_printed_lines_write_exactly_the_boot_files(index: int, content: str) -> None:
    line = shell_lines(module_loaded=False)[index]
    echo_part, _, target = line.partition(" | sudo tee ")
    assert target.startswith("/etc/")
    written = subprocess.run(["sh", "-c", echo_part], capture_output=True, text=True, check=True)
    assert written.stdout == content


def test_the_printed_modprobe_line_names_the_card_for_meeting_apps() -> None:
    line = shell_lines(module_loaded=False)[0]
    assert line == 'sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="Backdrop"'


def test_set_up_hands_pkexec_only_the_system_shell_and_a_fixed_script() -> None:
    command = setup_command(_system_with("pkexec"))
    _assert_only_system_programs(command)
    assert command[:3] == ["/usr/bin/pkexec", "/bin/sh", "-c"]
    assert len(command) == 4
    assert command[3] == "\n".join([
        "set -e",
        "if [ -d /sys/module/v4l2loopback ]; then /usr/sbin/modprobe -r v4l2loopback; fi",
        "/usr/sbin/modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=Backdrop",
        "printf '%s' 'v4l2loopback\n' > /etc/modules-load.d/backdrop.conf",
        "printf '%s' 'options v4l2loopback devices=1 exclusive_caps=1 card_label=\"Backdrop\"\n'"
        " > /etc/modprobe.d/backdrop.conf",
    ])


def test_set_up_without_pkexec_uses_sudo_askpass_and_says_when_neither_exists() -> None:
    command = setup_command(_system_with("sudo"))
    _assert_only_system_programs(command)
    assert command[:4] == ["/usr/bin/sudo", "-A", "/bin/sh", "-c"]
    with pytest.raises(FileNotFoundError, match="neither pkexec nor sudo"):
        setup_command(_system_with())


def test_a_program_in_a_directory_the_user_can_write_is_never_chosen(tmp_path: Path) -> None:
    fake = tmp_path / "modprobe"
    fake.write_text("#!/bin/sh\necho owned\n")
    fake.chmod(0o755)
    assert system_binary("modprobe", dirs=(str(tmp_path),)) is None
    assert system_binary("modprobe", dirs=("relative/dir",), trusted=lambda _path: True) is None


@pytest.mark.skipif(sys.platform == "win32", reason="no POSIX sh on Windows")
def test_the_system_shell_is_found_in_a_root_owned_directory() -> None:
    found = system_binary("sh")
    assert found is not None and os.path.dirname(found) in SYSTEM_BIN_DIRS
