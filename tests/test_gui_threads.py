"""Slow devices never freeze the window, and closing never waits on one that hangs.

Opening the virtual camera and listing cameras (which opens every device on Windows and macOS)
run on helper threads; these tests hold those calls at a gate and check that the preview keeps
going meanwhile, that the result arrives when the gate opens, and that closing does not wait.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from pyvirtualcam import camera as pyvirtualcam_camera

import app.gui.bridge
from app.devices.camera import CameraInfo
from app.gui.window import MainWindow
from app.settings import Settings
from tests.gui_fixtures import (  # noqa: F401 - the *_fixture names are fixtures
    OFFSCREEN_NOISE,
    WindowFactory,
    config_dir_fixture,
    gui_settings,
    open_window_fixture,
    wait_frames,
    wait_sent,
)
from tests.threads import thread_baseline
from tests.vcam_backend import (  # noqa: F401 - recording_vcam_fixture is a fixture
    DEFAULT_DEVICE,
    RecordingBackend,
    VcamRecorder,
    recording_vcam_fixture,
)

pytestmark = OFFSCREEN_NOISE

GATED_BACKEND = "backdrop-test-gated"
# A gate a test forgets to open must not hang the run.
_GATE_LIMIT_S = 30.0


class GatedBackend(RecordingBackend):
    """The recording backend, but opening waits until the test opens `gate`."""

    gate = threading.Event()

    def __init__(self, **kwargs: Any) -> None:
        GatedBackend.gate.wait(_GATE_LIMIT_S)
        super().__init__(**kwargs)


@pytest.fixture(name="gated_vcam")
def gated_vcam_fixture(recording_vcam: VcamRecorder) -> Iterator[threading.Event]:
    """The gate of a virtual camera backend whose open blocks until it is set."""
    gate = threading.Event()
    GatedBackend.gate = gate
    pyvirtualcam_camera.register_backend(GATED_BACKEND, GatedBackend)
    try:
        yield gate
    finally:
        gate.set()
        pyvirtualcam_camera.BACKENDS.pop(GATED_BACKEND, None)


def gated_settings() -> Settings:
    settings = gui_settings()
    return dataclasses.replace(
        settings, output=dataclasses.replace(settings.output, backend=GATED_BACKEND))


def is_running(name: str) -> bool:
    return any(thread.name == name for thread in threading.enumerate())


def test_a_slow_virtual_camera_opens_while_the_preview_keeps_running(
    qtbot: QtBot, gated_vcam: threading.Event, open_window: WindowFactory,
    recording_vcam: VcamRecorder,
) -> None:
    window = open_window(gated_settings())
    wait_frames(qtbot, window)
    qtbot.mouseClick(window.vcam_panel.toggle, Qt.MouseButton.LeftButton)
    assert window.vcam_panel.status_label.text() == "Starting the virtual camera…"
    assert window.status.virtualcam_label.text() == "Virtual camera starting…"
    wait_frames(qtbot, window, 5)  # the window repaints while the device is still opening
    assert recording_vcam.cameras == []

    gated_vcam.set()
    wait_sent(qtbot, recording_vcam, 3)
    assert "Sending to" in window.vcam_panel.status_label.text()
    assert window.status.virtualcam_label.text() == f"Virtual camera on: {DEFAULT_DEVICE}"


def test_turning_the_virtual_camera_off_while_it_opens_closes_it_unused(
    qtbot: QtBot, gated_vcam: threading.Event, open_window: WindowFactory,
    recording_vcam: VcamRecorder,
) -> None:
    window = open_window(gated_settings())
    wait_frames(qtbot, window)
    window.set_virtualcam(True)
    window.set_virtualcam(False)
    gated_vcam.set()
    qtbot.waitUntil(lambda: bool(recording_vcam.cameras) and recording_vcam.last.close_calls == 1)
    wait_frames(qtbot, window, 5)
    assert recording_vcam.last.frames_received == 0
    assert not window.vcam_panel.toggle.isChecked()
    assert window.status.virtualcam_label.text() == "Virtual camera off"


class CameraProbe:
    """Stands in for `list_cameras`: blocks until `release()`, then returns `cameras`."""

    def __init__(self) -> None:
        self.cameras: list[CameraInfo] = []
        self.calls = 0
        self._gate = threading.Event()

    def __call__(self) -> list[CameraInfo]:
        self.calls += 1
        self._gate.wait(_GATE_LIMIT_S)
        return list(self.cameras)

    def release(self) -> None:
        self._gate.set()

    def hold(self) -> None:
        self._gate.clear()


@pytest.fixture(name="camera_probe")
def camera_probe_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[CameraProbe]:
    probe = CameraProbe()
    monkeypatch.setattr(app.gui.bridge, "list_cameras", probe)
    try:
        yield probe
    finally:
        probe.release()


def source_items(window: MainWindow) -> dict[str, str]:
    combo = window.source_section.source_combo
    return {str(combo.itemData(index)): combo.itemText(index) for index in range(combo.count())}


def test_cameras_are_listed_without_freezing_the_window(
    qtbot: QtBot, camera_probe: CameraProbe, open_window: WindowFactory
) -> None:
    camera_probe.cameras = [CameraInfo(7, "Desk camera", "/dev/video7")]
    window = open_window()
    wait_frames(qtbot, window, 5)  # the window runs while the probe is still looking
    assert "camera:7" not in source_items(window)
    camera_probe.release()
    qtbot.waitUntil(lambda: source_items(window).get("camera:7") == "Desk camera")
    assert window.source_section.source_combo.currentData() == "demo", "the choice is kept"

    camera_probe.hold()
    camera_probe.cameras.append(CameraInfo(8, "Plugged in later", "/dev/video8"))
    qtbot.keyClick(window, Qt.Key.Key_F5)
    wait_frames(qtbot, window, 3)
    assert camera_probe.calls == 2 and "camera:8" not in source_items(window)
    camera_probe.release()
    qtbot.waitUntil(lambda: source_items(window).get("camera:8") == "Plugged in later")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sysfs listing is Linux only")
def test_the_window_names_linux_cameras_as_sysfs_does_and_offers_no_virtual_one(
    qtbot: QtBot, tmp_path: Path, open_window: WindowFactory
) -> None:
    """The real listing, on the camera folders `config_dir` points at (no probe stand-in)."""
    sysfs, dev = tmp_path / "no-devices" / "sys", tmp_path / "no-devices" / "dev"
    dev.mkdir(parents=True)
    for number, name in ((0, "Integrated Camera: Integrated C"), (2, "OBS Virtual Camera")):
        (sysfs / f"video{number}").mkdir(parents=True)
        (sysfs / f"video{number}" / "name").write_text(name + "\n")
        (dev / f"video{number}").touch()
    window = open_window()
    qtbot.waitUntil(lambda: "camera:0" in source_items(window))
    assert source_items(window)["camera:0"] == "Integrated Camera: Integrated C"
    assert "camera:2" not in source_items(window)


def test_closing_does_not_wait_for_devices_that_hang(
    qtbot: QtBot, camera_probe: CameraProbe, gated_vcam: threading.Event,
    open_window: WindowFactory, recording_vcam: VcamRecorder,
) -> None:
    baseline = thread_baseline()
    window = open_window(gated_settings())
    wait_frames(qtbot, window)
    window.set_virtualcam(True)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    window.close()
    assert window.engine.pipeline is None
    assert is_running("backdrop-gui-virtualcam") and is_running("backdrop-gui-cameras"), (
        "both helpers are still stuck: closing did not wait for them"
    )

    gated_vcam.set()  # the driver finally answers, after the window has gone
    camera_probe.release()
    qtbot.waitUntil(baseline.check, timeout=10000)
    assert recording_vcam.last.close_calls == 1, "what opened too late is closed, not leaked"
    assert recording_vcam.last.frames_received == 0
