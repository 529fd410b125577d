"""`backdrop setup-virtualcam`: the commands it prints and runs on Linux (never the sudo)."""

from __future__ import annotations

import subprocess

import pytest

from app.devices.virtualcam_help import MODPROBE_CONF_CONTENT, MODULES_LOAD_CONTENT
from app.devices.virtualcam_setup import privileged_commands, shell_lines


def test_commands_are_elevated_with_sudo_or_pkexec_unless_root() -> None:
    with_sudo = privileged_commands(is_root=False, have=lambda name: name == "sudo",
                                    module_loaded=False)
    assert all(command[0] == "sudo" for command in with_sudo)
    assert with_sudo[0][1:3] == ["modprobe", "v4l2loopback"]
    assert "exclusive_caps=1" in with_sudo[0]
    with_pkexec = privileged_commands(is_root=False, have=lambda name: name == "pkexec",
                                      module_loaded=False)
    assert all(command[0] == "pkexec" for command in with_pkexec)
    as_root = privileged_commands(is_root=True, module_loaded=False)
    assert as_root[0][0] == "modprobe"
    with pytest.raises(RuntimeError, match="sudo nor pkexec"):
        privileged_commands(is_root=False, have=lambda _name: None, module_loaded=False)


def test_a_module_loaded_without_the_right_options_is_unloaded_first() -> None:
    commands = privileged_commands(is_root=True, module_loaded=True)
    assert commands[0] == ["modprobe", "-r", "v4l2loopback"]
    assert commands[1][0] == "modprobe" and "-r" not in commands[1]
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
