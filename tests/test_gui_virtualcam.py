"""The window's virtual camera through pyvirtualcam's real Camera and a recording test backend."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.devices.virtualcam_help import virtualcam_fix
from app.engine.cards import OFF_CAPTION, off_card
from app.gui.vcam_panel import LOST_TEXT, MEETING_HINT
from app.gui.window import MainWindow
from tests.fake_machine import FakeLinux
from tests.gui_fixtures import (  # noqa: F401 - the *_fixture names are fixtures
    HEIGHT_PX,
    OFFSCREEN_NOISE,
    OFFSCREEN_TRAY_NOISE,
    RETRY_TIMEOUT_MS,
    WIDTH_PX,
    WindowFactory,
    config_dir_fixture,
    gui_settings,
    open_window_fixture,
    wait_frames,
    wait_sent,
)
from tests.vcam_backend import (  # noqa: F401 - recording_vcam_fixture is a fixture
    DEFAULT_DEVICE,
    KEPT_FRAMES,
    RecordingBackend,
    VcamRecorder,
    recording_vcam_fixture,
)

pytestmark = OFFSCREEN_NOISE


def _start_sending(qtbot: QtBot, window: MainWindow, recorder: VcamRecorder) -> None:
    """Wait for the preview, turn the virtual camera on and wait for its first frame."""
    wait_frames(qtbot, window)
    window.set_virtualcam(True)
    wait_sent(qtbot, recorder)


def test_turning_the_virtual_camera_on_sends_frames_at_the_output_size(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    window = open_window()
    wait_frames(qtbot, window)
    qtbot.mouseClick(window.vcam_panel.toggle, Qt.MouseButton.LeftButton)
    wait_sent(qtbot, recording_vcam, 5)
    camera = recording_vcam.last
    assert (camera.width_px, camera.height_px) == (WIDTH_PX, HEIGHT_PX)
    assert camera.recent_frames[-1].shape == (HEIGHT_PX, WIDTH_PX, 3)
    status = window.vcam_panel.status_label.text()
    assert DEFAULT_DEVICE in status and MEETING_HINT in status
    assert DEFAULT_DEVICE in window.status.virtualcam_label.text()
    assert window.commands.virtualcam.isChecked()
    assert window.store.settings.output.virtualcam



def _wait_for_card(qtbot: QtBot, camera: RecordingBackend) -> None:
    card = off_card(WIDTH_PX, HEIGHT_PX)
    qtbot.waitUntil(lambda: len(camera.recent_frames) == KEPT_FRAMES and all(
        np.array_equal(frame, card) for frame in list(camera.recent_frames)))


def test_turning_it_off_keeps_the_device_for_the_meeting_with_a_camera_off_card(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    """A meeting app must not lose the camera: v4l2loopback lists the device only while
    someone sends, and a closed device leaves the meeting with no camera until picked again."""
    window = open_window()
    _start_sending(qtbot, window, recording_vcam)
    camera = recording_vcam.last
    width_on = window.vcam_panel.minimumSizeHint().width()
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    _wait_for_card(qtbot, camera)  # the card only: no picture of the room or the person
    assert camera.close_calls == 0 and len(recording_vcam.cameras) == 1
    panel = window.vcam_panel
    # Release takes the (now pointless) pause button's place: the panel gets no wider, so the
    # side column is not clipped (it was, by a Release button added beside the others).
    assert not panel.pause_button.isVisible()
    assert panel.minimumSizeHint().width() <= width_on
    assert not panel.toggle.isChecked() and not window.commands.virtualcam.isChecked()
    assert f"see a “{OFF_CAPTION}” card" in panel.status_label.text()
    assert panel.release_button.isVisible() and window.commands.release_virtualcam.isEnabled()
    assert window.status.virtualcam_label.text() == (
        f"Virtual camera off: “{OFF_CAPTION}” card on {DEFAULT_DEVICE}")
    assert not window.store.settings.output.virtualcam
    assert OFF_CAPTION in panel.toggle.toolTip() and "Release" in panel.toggle.toolTip()
    live = [wait_frames(qtbot, window), wait_frames(qtbot, window, 2)]
    assert not np.array_equal(live[0], live[1]), "the preview stays live"

    qtbot.mouseClick(panel.toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not any(np.array_equal(frame, off_card(WIDTH_PX, HEIGHT_PX))
                                    for frame in list(camera.recent_frames)))
    assert len(recording_vcam.cameras) == 1, "the same device, never reopened"
    assert MEETING_HINT in panel.status_label.text() and not panel.release_button.isVisible()
    assert panel.pause_button.isVisible()
    assert window.status.virtualcam_label.text() == f"Virtual camera on: {DEFAULT_DEVICE}"


def test_release_closes_the_device_and_turning_it_on_opens_it_again(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    window = open_window()
    _start_sending(qtbot, window, recording_vcam)
    window.set_virtualcam(False)
    panel = window.vcam_panel
    qtbot.waitUntil(panel.release_button.isVisible)
    qtbot.mouseClick(panel.release_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: recording_vcam.last.close_calls == 1)
    assert not panel.release_button.isVisible()
    assert not window.commands.release_virtualcam.isEnabled()
    assert panel.status_label.text() == "Off: only this preview shows the result."
    assert window.status.virtualcam_label.text() == "Virtual camera off"
    assert not window.store.settings.output.virtualcam

    window.commands.virtualcam.trigger()
    qtbot.waitUntil(lambda: len(recording_vcam.cameras) == 2
                    and recording_vcam.last.frames_received >= 3)
    assert MEETING_HINT in panel.status_label.text()


def test_without_a_virtual_camera_at_start_the_fix_is_shown_and_it_can_be_turned_off(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    recording_vcam.fail_every_open(RuntimeError("no loopback device"))
    settings = gui_settings()
    window = open_window(dataclasses.replace(
        settings, output=dataclasses.replace(settings.output, virtualcam=True)))
    qtbot.waitUntil(window.vcam_panel.fix_box.isVisible)
    fix_text = window.vcam_panel.fix_text.toPlainText()
    assert "no loopback device" in fix_text
    assert virtualcam_fix().splitlines()[0] in fix_text
    assert window.vcam_panel.copy_button.isVisible() == sys.platform.startswith("linux")
    assert window.vcam_panel.toggle.isChecked(), "it stays on: Backdrop keeps trying"
    assert "retrying" in window.status.virtualcam_label.text()
    before = wait_frames(qtbot, window)
    after = wait_frames(qtbot, window, 5)
    assert not np.array_equal(before, after), "the preview keeps running"

    qtbot.mouseClick(window.vcam_panel.toggle, Qt.MouseButton.LeftButton)
    assert not window.vcam_panel.toggle.isChecked()
    assert not window.vcam_panel.fix_box.isVisible()
    assert window.status.virtualcam_label.text() == "Virtual camera off"
    assert not window.store.settings.output.virtualcam
    snapshot = window.engine.snapshot
    qtbot.waitUntil(lambda: (current := snapshot()) is not None and current.sink_state == "none")
    recording_vcam.open_error = None  # the driver appears, but the user turned it off
    wait_frames(qtbot, window, 5)
    assert recording_vcam.cameras == [], "no retry once turned off"


def test_a_virtual_camera_missing_when_turned_on_is_used_once_it_appears(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    recording_vcam.fail_every_open(RuntimeError("no loopback device"))
    window = open_window()
    wait_frames(qtbot, window)
    qtbot.mouseClick(window.vcam_panel.toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.vcam_panel.fix_box.isVisible)
    assert "no loopback device" in window.vcam_panel.fix_text.toPlainText()
    assert "keeps trying" in window.vcam_panel.status_label.text()
    qtbot.waitUntil(lambda: "retrying" in window.status.virtualcam_label.text())
    assert window.vcam_panel.toggle.isChecked()
    wait_frames(qtbot, window, 3)

    recording_vcam.open_error = None  # the user installs the driver; nobody touches Backdrop
    wait_sent(qtbot, recording_vcam, 5, timeout_ms=RETRY_TIMEOUT_MS)
    assert recording_vcam.last.recent_frames[-1].shape == (HEIGHT_PX, WIDTH_PX, 3)
    qtbot.waitUntil(lambda: "Sending to" in window.vcam_panel.status_label.text())
    assert DEFAULT_DEVICE in window.vcam_panel.status_label.text()
    assert not window.vcam_panel.fix_box.isVisible()
    assert window.status.virtualcam_label.text() == f"Virtual camera on: {DEFAULT_DEVICE}"


def test_pause_sends_a_still_picture_until_resumed(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    window = open_window()
    _start_sending(qtbot, window, recording_vcam)
    camera = recording_vcam.last
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert window.vcam_panel.pause_button.isChecked()
    assert "paused" in window.status.virtualcam_label.text()
    received = camera.frames_received
    qtbot.waitUntil(lambda: camera.frames_received >= received + 8)
    still = list(camera.recent_frames)
    assert all(np.array_equal(still[0], frame) for frame in still[1:]), "one still picture"
    live = [wait_frames(qtbot, window), wait_frames(qtbot, window, 2)]
    assert not np.array_equal(live[0], live[1]), "the preview stays live while paused"

    qtbot.mouseClick(window.vcam_panel.pause_button, Qt.MouseButton.LeftButton)
    assert not window.commands.pause.isChecked()
    received = camera.frames_received
    qtbot.waitUntil(lambda: camera.frames_received >= received + 8)
    resumed = list(camera.recent_frames)
    assert not np.array_equal(resumed[0], resumed[-1]), "live frames again"


def test_a_new_capture_size_keeps_the_virtual_camera_and_fits_the_frames_into_it(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    """A meeting app reading the device must never see it change format mid-call (it froze
    on the last frame when Backdrop reopened the device at the camera's new size)."""
    window = open_window()
    _start_sending(qtbot, window, recording_vcam)
    window.request_source("demo", 640, 480, 30)  # 4:3 into the 640x360 output
    qtbot.waitUntil(lambda: window.source_label.text().endswith("640x480"), timeout=20000)
    camera = recording_vcam.last
    received = camera.frames_received
    qtbot.waitUntil(lambda: camera.frames_received >= received + 5, timeout=20000)
    assert len(recording_vcam.cameras) == 1 and camera.close_calls == 0
    assert (camera.width_px, camera.height_px) == (640, 360)
    newest = camera.recent_frames[-1]
    assert newest.shape == (360, 640, 3)
    bar_px = (640 - 480) // 2  # letterboxed: 480x360 of picture between black side bars
    assert newest[:, : bar_px - 2].max() == 0 and newest[:, -(bar_px - 2):].max() == 0
    assert newest[:, bar_px + 2 : -bar_px - 2].mean() > 20
    assert window.vcam_panel.toggle.isChecked()
    assert not window.banner.isVisible()


def test_set_up_runs_the_command_and_then_turns_the_camera_on(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    recording_vcam.fail_every_open(RuntimeError("no loopback device"))
    window = open_window()
    wait_frames(qtbot, window)
    window.set_virtualcam(True)
    qtbot.waitUntil(window.vcam_panel.fix_box.isVisible)
    recording_vcam.open_error = None  # what the set-up fixes
    window.vcam_panel.command_factory = lambda: [sys.executable, "-c", "print('set up')"]
    with qtbot.waitSignal(window.vcam_panel.setup_finished) as finished:
        qtbot.mouseClick(window.vcam_panel.setup_button, Qt.MouseButton.LeftButton)
    assert finished.args == [True, "set up"]
    wait_sent(qtbot, recording_vcam)  # at once, not at the pipeline's next retry
    assert window.vcam_panel.toggle.isChecked()
    assert not window.vcam_panel.fix_box.isVisible()


def test_a_virtual_camera_that_fails_mid_call_stays_on_and_recovers_by_itself(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    recording_vcam.fail_on_send(3)  # every camera it opens, until the test stops it
    window = open_window()
    wait_frames(qtbot, window)
    window.set_virtualcam(True)
    qtbot.waitUntil(lambda: "retrying" in window.status.virtualcam_label.text(),
                    timeout=RETRY_TIMEOUT_MS)
    assert window.status.virtualcam_label.text() == "Virtual camera lost — retrying…"
    assert LOST_TEXT in window.vcam_panel.status_label.text()
    assert "the device went away" in window.vcam_panel.status_label.text()
    assert window.vcam_panel.toggle.isChecked() and window.commands.virtualcam.isChecked()
    assert window.store.settings.output.virtualcam
    wait_frames(qtbot, window, 3)  # the preview goes on

    recording_vcam.fail_on_send_number = None  # the driver works again
    wait_sent(qtbot, recording_vcam, 5, timeout_ms=RETRY_TIMEOUT_MS)
    assert len(recording_vcam.cameras) >= 2, "reopened by Backdrop, not by the user"
    qtbot.waitUntil(lambda: "Sending to" in window.vcam_panel.status_label.text())
    assert DEFAULT_DEVICE in window.vcam_panel.status_label.text()
    assert window.status.virtualcam_label.text() == f"Virtual camera on: {DEFAULT_DEVICE}"
    assert window.vcam_panel.toggle.isChecked()


@OFFSCREEN_TRAY_NOISE
def test_closing_with_the_virtual_camera_on_keeps_running_in_the_tray(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    window = open_window(tray=True)
    assert window.tray is not None
    menu_texts = [action.text() for action in window.tray.contextMenu().actions()]
    assert {"&Show window", "Effect &on", "&Virtual camera", "&Pause camera",
            "&Quit Backdrop"} <= set(menu_texts)
    _start_sending(qtbot, window, recording_vcam)
    window.close()
    assert not window.isVisible()
    received = recording_vcam.last.frames_received
    qtbot.waitUntil(lambda: recording_vcam.last.frames_received > received + 3)
    window.commands.show_window.trigger()
    assert window.isVisible()
    window.commands.quit.trigger()
    qtbot.waitUntil(lambda: recording_vcam.last.close_calls == 1)


def test_holding_space_shows_the_room_only_in_the_preview(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    window = open_window(gui_settings(kind="color", color_rgb=(0, 0, 255)))
    _start_sending(qtbot, window, recording_vcam)
    camera = recording_vcam.last
    qtbot.keyPress(window.preview, Qt.Key.Key_Space)
    preview = wait_frames(qtbot, window, 8)
    sent = camera.recent_frames[-1]
    assert "Original camera" in window.preview.caption
    qtbot.keyRelease(window.preview, Qt.Key.Key_Space)
    assert np.abs(sent[:60, :60].reshape(-1, 3).mean(axis=0) - (255, 0, 0)).max() < 3, (
        "the meeting keeps seeing the blue background"
    )
    assert np.abs(preview[:60, :60].reshape(-1, 3).mean(axis=0) - (255, 0, 0)).max() > 30, (
        "the preview shows the room"
    )
    back = wait_frames(qtbot, window, 8)
    assert np.abs(back[:60, :60].reshape(-1, 3).mean(axis=0) - (255, 0, 0)).max() < 3
    assert window.preview.caption == ""


def test_the_virtual_camera_runs_at_the_sources_own_frame_rate(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder, tmp_path: Path
) -> None:
    # A 15 fps source (a camera in low light, a file) while the settings ask for 30: meeting
    # apps should be told 15, the rate frames really come at.
    video = tmp_path / "fifteen.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), 15.0,
                             (WIDTH_PX, HEIGHT_PX))
    for index in range(30):
        writer.write(np.full((HEIGHT_PX, WIDTH_PX, 3), 40 + 4 * index, np.uint8))
    writer.release()
    settings = gui_settings()
    settings = dataclasses.replace(
        settings, source=dataclasses.replace(settings.source, spec=str(video), fps=30)
    )
    window = open_window(settings)
    wait_frames(qtbot, window)
    qtbot.mouseClick(window.vcam_panel.toggle, Qt.MouseButton.LeftButton)
    wait_sent(qtbot, recording_vcam, 2)
    assert recording_vcam.last.fps == 15


def test_choosing_another_meeting_picture_size_reopens_the_virtual_camera_at_it(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    window = open_window()
    _start_sending(qtbot, window, recording_vcam)
    combo = window.tuning_section.output_size_combo
    index = combo.findData("1280x720")
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    qtbot.waitUntil(lambda: len(recording_vcam.cameras) == 2
                    and recording_vcam.last.frames_received >= 3, timeout=20000)
    first, second = recording_vcam.cameras
    assert first.close_calls == 1
    assert (second.width_px, second.height_px) == (1280, 720)
    assert second.recent_frames[-1].shape == (720, 1280, 3)
    assert window.store.settings.output.width_px == 1280


def test_diagnose_shows_what_backdrop_doctor_prints_for_the_output_size_of_the_settings(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    linux = FakeLinux(tmp_path)
    linux.load()
    node = linux.device(5, "Backdrop", fmt="YU12:1920x1080@30")
    linux.process(4242, "zoom", opened=node)
    window = open_window()
    window.virtualcam.machine = linux.machine()
    panel = window.vcam_panel
    qtbot.mouseClick(panel.diagnose_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.fix_box.isVisible() and panel.diagnose_button.isEnabled())
    text = panel.fix_text.toPlainText()
    assert f"FAIL  {node} is held at 1920x1080 (YU12:1920x1080@30) by zoom (pid 4242); " \
           f"Backdrop sends {WIDTH_PX}x{HEIGHT_PX}" in text
    assert "ok    v4l2loopback 0.15.4 is loaded." in text
    assert text.splitlines()[-1] == "The virtual camera cannot work yet: fix the FAIL lines above."
    assert not panel.copy_button.isVisible()


def test_diagnose_on_this_machine_names_its_problem(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = open_window()
    panel = window.vcam_panel
    qtbot.mouseClick(panel.diagnose_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.fix_box.isVisible() and panel.diagnose_button.isEnabled())
    text = panel.fix_text.toPlainText()
    assert text.splitlines()[-1].startswith("The virtual camera ")
    if sys.platform.startswith("linux") and not Path("/proc/modules").exists():
        assert "has no loadable-module support" in text
        assert not panel.setup_button.isVisible(), "set-up cannot help without modules"
