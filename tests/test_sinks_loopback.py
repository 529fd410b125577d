"""The virtual camera on Linux picks Backdrop's own loopback device and refuses a device that a
reading app holds at another size (sysfs says so), through pyvirtualcam's real Camera."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.devices.camera import DEV_DIR_ENV, SYSFS_VIDEO_DIR_ENV
from app.devices.consumers import holders
from app.devices.loopback import held_size, named_loopback_device
from app.devices.sinks import SinkError, VirtualCamSink
from tests.vcam_backend import (  # noqa: F401 - the fixture is used by name
    DEFAULT_DEVICE,
    RECORDING_BACKEND,
    VcamRecorder,
    recording_vcam_fixture,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sysfs is Linux's")


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A webcam (video0), OBS's loopback device (video2) and Backdrop's (video5)."""
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    dev.mkdir()
    for number, name, loopback in ((0, "Integrated Camera", False),
                                   (2, "OBS Virtual Camera", True), (5, "Backdrop", True)):
        entry = sysfs / f"video{number}"
        entry.mkdir(parents=True)
        (entry / "name").write_text(name + "\n")
        if loopback:
            (entry / "format").write_text("")  # nobody streams
        (dev / f"video{number}").touch()
    monkeypatch.setenv(SYSFS_VIDEO_DIR_ENV, str(sysfs))
    monkeypatch.setenv(DEV_DIR_ENV, str(dev))
    return sysfs, dev


def test_backdrops_own_device_is_chosen_not_the_first_loopback_device(
    machine: tuple[Path, Path], recording_vcam: VcamRecorder
) -> None:
    _, dev = machine
    assert named_loopback_device() == str(dev / "video5")
    sink = VirtualCamSink(backend=RECORDING_BACKEND)
    sink.open(1280, 720, 30)
    assert recording_vcam.last.device() == str(dev / "video5")
    sink.close()


def test_a_device_named_by_the_user_wins_and_none_found_leaves_the_choice_to_pyvirtualcam(
    machine: tuple[Path, Path], recording_vcam: VcamRecorder
) -> None:
    sysfs, dev = machine
    sink = VirtualCamSink(backend=RECORDING_BACKEND, device=str(dev / "video2"))
    sink.open(1280, 720, 30)
    assert recording_vcam.last.device() == str(dev / "video2")
    sink.close()
    (sysfs / "video5" / "name").write_text("Dummy video device\n")
    sink = VirtualCamSink(backend=RECORDING_BACKEND)
    sink.open(1280, 720, 30)
    assert recording_vcam.last.device() == DEFAULT_DEVICE  # the backend's own first choice
    sink.close()


def test_a_device_held_at_another_size_is_refused_with_what_to_do(
    machine: tuple[Path, Path], recording_vcam: VcamRecorder
) -> None:
    sysfs, dev = machine
    (sysfs / "video5" / "format").write_text("YU12:640x480@30\n")  # a meeting app reads 640x480
    assert held_size(str(dev / "video5")) == (640, 480)
    sink = VirtualCamSink(backend=RECORDING_BACKEND)
    with pytest.raises(SinkError) as refused:
        sink.open(1280, 720, 30)
    message = str(refused.value)
    assert "held at 640x480" in message and "meeting app" in message
    assert "choose 640x480" in message
    assert recording_vcam.last.close_calls == 1, "the refused device is let go"
    sink.open(640, 480, 30)  # at the size the device holds, frames go through
    assert recording_vcam.last.width_px == 640
    sink.close()


def test_an_unreadable_or_empty_format_is_no_reason_to_refuse(
    machine: tuple[Path, Path],
) -> None:
    sysfs, dev = machine
    assert held_size(str(dev / "video5")) is None  # empty: nobody streams
    (sysfs / "video5" / "format").write_text("garbage\n")
    assert held_size(str(dev / "video5")) is None
    assert held_size(str(dev / "video0")) is None  # a webcam has no format attribute
    assert held_size("/dev/video-that-is-not-there") is None


def test_a_busy_device_says_which_program_holds_it(
    machine: tuple[Path, Path], recording_vcam: VcamRecorder, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, dev = machine
    # Another producer (here: OBS) has Backdrop's device open, as /proc shows.
    proc = tmp_path / "proc"
    (proc / "4242" / "fd").mkdir(parents=True)
    (proc / "4242" / "comm").write_text("obs\n")
    (proc / "4242" / "fd" / "7").symlink_to(dev / "video5")
    monkeypatch.setattr("app.devices.sinks.holders",
                        lambda device: holders(device, proc_dir=proc, own_pid=1))
    recording_vcam.fail_every_open(RuntimeError(f"device {dev / 'video5'} is busy"))
    with pytest.raises(SinkError, match=r"in use by obs"):
        VirtualCamSink(backend=RECORDING_BACKEND).open(1280, 720, 30)


def test_a_device_that_no_longer_takes_a_sender_says_how_to_reload_the_module(
    machine: tuple[Path, Path], recording_vcam: VcamRecorder
) -> None:
    _, dev = machine
    recording_vcam.fail_every_open(RuntimeError(
        f"'v4l2loopback' backend: Device {dev / 'video5'} is not a video output device."))
    with pytest.raises(SinkError) as refused:
        VirtualCamSink(backend=RECORDING_BACKEND).open(1280, 720, 30)
    message = str(refused.value)
    assert "sudo modprobe -r v4l2loopback && sudo modprobe v4l2loopback" in message
    assert "card_label=Backdrop" in message and "install" not in message.lower()
