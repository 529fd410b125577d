"""The real main window on the demo source: preview, effects, backgrounds, persistence, closing."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot

import app.gui.bridge
import app.gui.effects
from app.devices.camera import CameraInfo, CameraMode
from app.devices.demo import Box, demo_person_regions
from app.engine.session import bundled_backgrounds
from app.gui.actions import PRIVACY_URL
from app.gui.window import MainWindow
from app.settings import load_settings
from compositing.backgrounds import ImageBackground
from compositing.files import FileBackground, load_background
from tests.gui_fixtures import (  # noqa: F401 - the *_fixture names are fixtures
    FRAME_TIMEOUT_MS,
    HEIGHT_PX,
    OFFSCREEN_NOISE,
    WIDTH_PX,
    WindowFactory,
    config_dir_fixture,
    gui_settings,
    open_window_fixture,
    settled_frame,
    wait_frames,
)
from tests.threads import thread_baseline

pytestmark = OFFSCREEN_NOISE

PERSON = demo_person_regions(WIDTH_PX, HEIGHT_PX)
CORNER = Box(0, 0, 60, 60)  # the demo's room, never the person


def region(frame_bgr: np.ndarray, box: Box) -> np.ndarray:
    return frame_bgr[box.y0 : box.y1, box.x0 : box.x1].astype(np.float32)


def detail(frame_bgr: np.ndarray, box: Box) -> float:
    """How much fine detail (edges, texture) a region has: blur removes it."""
    gray = cv2.cvtColor(np.ascontiguousarray(frame_bgr[box.y0 : box.y1, box.x0 : box.x1]),
                        cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


def mean_difference(first_bgr: np.ndarray, second_bgr: np.ndarray, box: Box) -> float:
    return float(np.abs(region(first_bgr, box) - region(second_bgr, box)).mean())


def wait_until_shown(
    qtbot: QtBot, window: MainWindow, expected_bgr: np.ndarray, box: Box
) -> None:
    """Wait until the preview shows `expected_bgr` in `box` (backgrounds swap in when loaded)."""
    def shown() -> bool:
        frame = window.preview.last_frame_bgr
        return frame is not None and mean_difference(frame, expected_bgr, box) < 4

    qtbot.waitUntil(shown, timeout=FRAME_TIMEOUT_MS)


def mean_colour_difference(first_bgr: np.ndarray, second_bgr: np.ndarray, box: Box) -> float:
    """How far apart the average colours of a region are (insensitive to the demo's sway)."""
    first = region(first_bgr, box).reshape(-1, 3).mean(axis=0)
    second = region(second_bgr, box).reshape(-1, 3).mean(axis=0)
    return float(np.abs(first - second).max())


def test_window_opens_with_a_live_preview(qtbot: QtBot, open_window: WindowFactory) -> None:
    window = open_window()
    first = wait_frames(qtbot, window)
    later = wait_frames(qtbot, window, 5)
    assert first.shape == (HEIGHT_PX, WIDTH_PX, 3)
    assert not np.array_equal(first, later), "the demo moves, so the preview must change"
    assert not window.preview.grab().toImage().isNull()
    qtbot.waitUntil(lambda: window.status.fps_label.text() != "– fps")
    assert window.status.virtualcam_label.text() == "Virtual camera off"


def test_blur_changes_the_background_and_keeps_the_person(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = open_window(gui_settings(kind="none"))
    plain = settled_frame(qtbot, window)
    qtbot.mouseClick(window.effect_section.effect_buttons["blur"], Qt.MouseButton.LeftButton)
    blurred = settled_frame(qtbot, window)
    assert window.store.settings.effect.kind == "blur"
    assert detail(blurred, CORNER) < detail(plain, CORNER) / 4
    assert detail(blurred, PERSON.face) > detail(plain, PERSON.face) * 0.7
    assert mean_colour_difference(plain, blurred, PERSON.face) < 4


def test_colour_and_image_effects_replace_the_background(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = open_window()
    wait_frames(qtbot, window)
    swatch_rgb = (32, 64, 128)
    index = [tuple(c) for c in window.effect_section.swatches_rgb].index(swatch_rgb)
    qtbot.mouseClick(window.effect_section.swatches[index], Qt.MouseButton.LeftButton)
    coloured = settled_frame(qtbot, window)
    corner_bgr = region(coloured, CORNER).reshape(-1, 3).mean(axis=0)
    assert np.abs(corner_bgr - np.array(swatch_rgb[::-1])).max() < 3
    background = str(bundled_backgrounds()[1])
    qtbot.mouseClick(window.gallery.buttons[background], Qt.MouseButton.LeftButton)
    expected = ImageBackground(background).frame(WIDTH_PX, HEIGHT_PX)
    wait_until_shown(qtbot, window, expected, CORNER)  # checked, then loaded, off the Qt thread
    replaced = settled_frame(qtbot, window)
    assert window.store.settings.effect.kind == "image"
    assert mean_difference(replaced, expected, CORNER) < 4
    assert mean_colour_difference(replaced, coloured, PERSON.face) < 4


def test_choosing_a_background_checks_it_off_the_qt_thread_and_the_window_keeps_painting(
    qtbot: QtBot, open_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    checked_on: list[str] = []

    def slow_load(path: str) -> FileBackground:  # a phone photo that takes long to decode
        checked_on.append(threading.current_thread().name)
        assert gate.wait(20.0), "the test never opened the gate"
        return load_background(path)

    monkeypatch.setattr(app.gui.effects, "load_background", slow_load)
    window = open_window()
    wait_frames(qtbot, window)
    background = str(bundled_backgrounds()[2])
    qtbot.mouseClick(window.gallery.buttons[background], Qt.MouseButton.LeftButton)
    wait_frames(qtbot, window, 5)  # the preview repaints while the file is being checked
    assert window.store.settings.effect.kind == "blur", "used only once the check says so"
    gate.set()
    qtbot.waitUntil(lambda: window.store.settings.effect.background == background)
    assert window.store.settings.effect.kind == "image"
    assert checked_on and threading.main_thread().name not in checked_on


def test_an_effect_chosen_while_a_background_is_checked_wins(
    qtbot: QtBot, open_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()

    def slow_load(path: str) -> FileBackground:
        assert gate.wait(20.0), "the test never opened the gate"
        return load_background(path)

    monkeypatch.setattr(app.gui.effects, "load_background", slow_load)
    window = open_window()
    wait_frames(qtbot, window)
    qtbot.mouseClick(window.gallery.buttons[str(bundled_backgrounds()[2])],
                     Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.effect_section.effect_buttons["none"], Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.effects.checker.checked):
        gate.set()
    assert window.store.settings.effect.kind == "none"


def test_a_file_that_is_not_an_image_is_refused_and_the_background_stays(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    background = str(bundled_backgrounds()[0])
    window = open_window(gui_settings(kind="image", background=background))
    before = settled_frame(qtbot, window)
    broken = tmp_path / "holiday.png"
    broken.write_bytes(b"this is not a picture")
    window.pick_file = lambda _title, _filter: str(broken)
    qtbot.mouseClick(window.gallery.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.banner.isVisible)  # the check answers from its helper thread
    assert "holiday.png" in window.banner.text()
    assert window.store.settings.effect.background == background
    assert window.store.settings.gui.user_backgrounds == ()
    assert str(broken) not in window.gallery.buttons
    after = settled_frame(qtbot, window)
    assert mean_difference(before, after, CORNER) < 2


def drop_files(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    event = QDropEvent(window.rect().center().toPointF(), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_dropped_images_join_the_gallery_are_used_and_can_be_removed(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    window = open_window()
    own = tmp_path / "my room.png"
    own_bgr = np.full((300, 400, 3), (10, 200, 240), np.uint8)
    assert cv2.imwrite(str(own), own_bgr)
    drop_files(window, [own])
    qtbot.waitUntil(lambda: window.store.settings.effect.background == str(own))
    assert window.store.settings.gui.user_backgrounds == (str(own),)
    assert window.gallery.buttons[str(own)].isChecked()
    wait_until_shown(qtbot, window, cv2.resize(own_bgr, (WIDTH_PX, HEIGHT_PX)), CORNER)
    frame = settled_frame(qtbot, window)
    corner_bgr = region(frame, CORNER).reshape(-1, 3).mean(axis=0)
    assert np.abs(corner_bgr - np.array((10, 200, 240))).max() < 3
    menu = window.gallery.context_menu(str(own))
    menu.actions()[0].trigger()
    assert window.store.settings.gui.user_backgrounds == ()
    assert str(own) not in window.gallery.buttons
    assert window.store.settings.effect.background == str(bundled_backgrounds()[0])
    window.store.flush()
    assert load_settings().settings.gui.user_backgrounds == ()


def test_settings_and_geometry_survive_a_restart(qtbot: QtBot, open_window: WindowFactory) -> None:
    window = open_window()
    wait_frames(qtbot, window)
    window.effect_section.choose_colour((200, 30, 60))
    window.tuning_section.edge_slider.slider.setValue(73)
    window.tuning_section.smoothing_slider.slider.setValue(22)
    refinement = window.tuning_section.refinement_combo
    refinement.setCurrentIndex(refinement.findData("best"))
    refinement.activated.emit(refinement.currentIndex())
    window.tuning_section.mirror_check.setChecked(True)
    window.resize(799, 577)  # the offscreen screen is 800x600
    window.close()

    reopened = open_window(load_settings().settings)
    settings = reopened.store.settings
    assert settings.effect.kind == "color" and settings.effect.color_rgb == (200, 30, 60)
    assert reopened.effect_section.effect_buttons["color"].isChecked()
    assert reopened.tuning_section.edge_slider.value() == 73
    assert reopened.tuning_section.smoothing_slider.value() == 22
    assert reopened.tuning_section.refinement_combo.currentData() == "best"
    assert reopened.tuning_section.mirror_check.isChecked()
    assert (reopened.width(), reopened.height()) == (799, 577)
    frame = settled_frame(qtbot, reopened)
    corner_bgr = region(frame, CORNER).reshape(-1, 3).mean(axis=0)
    assert np.abs(corner_bgr - np.array((60, 30, 200))).max() < 3


def test_holding_space_shows_the_original_camera(qtbot: QtBot, open_window: WindowFactory) -> None:
    window = open_window(gui_settings(kind="color", color_rgb=(0, 0, 255)))
    coloured = settled_frame(qtbot, window)
    qtbot.keyPress(window.preview, Qt.Key.Key_Space)
    original = settled_frame(qtbot, window)
    qtbot.keyRelease(window.preview, Qt.Key.Key_Space)
    again = settled_frame(qtbot, window)
    assert np.abs(region(coloured, CORNER).mean(axis=(0, 1)) - (255, 0, 0)).max() < 3
    assert detail(original, CORNER) > 10, "the room, not the blue, while Space is held"
    assert mean_difference(again, coloured, CORNER) < 2
    assert window.store.settings.effect.kind == "color", "holding Space never changes settings"


def test_space_on_a_focused_checkbox_toggles_it_and_on_the_preview_shows_the_original(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = open_window()
    wait_frames(qtbot, window)
    mirror = window.tuning_section.mirror_check
    mirror.setFocus()
    qtbot.waitUntil(mirror.hasFocus)
    qtbot.keyClick(mirror, Qt.Key.Key_Space)
    assert mirror.isChecked(), "Space toggles the focused checkbox, as everywhere else"
    assert window.store.settings.output.mirror
    assert window.preview.caption == "", "and does not show the original camera"

    window.preview.setFocus()
    qtbot.waitUntil(window.preview.hasFocus)
    qtbot.keyPress(window.preview, Qt.Key.Key_Space)
    assert window.preview.caption.startswith("Original camera")
    window.tuning_section.mirror_check.setFocus()  # the focus moves while Space is held
    qtbot.keyRelease(mirror, Qt.Key.Key_Space)
    assert window.preview.caption == "", "letting go of Space always ends the original view"
    assert mirror.isChecked(), "the release belonged to the preview, not the checkbox"


def test_split_view_shows_the_original_beside_the_effect_and_is_remembered(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = open_window(gui_settings(kind="color", color_rgb=(0, 0, 255)))
    wait_frames(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    split = settled_frame(qtbot, window)
    right_corner = Box(WIDTH_PX - 60, 0, WIDTH_PX, 60)
    assert detail(split, CORNER) > 10, "the original room on the left"
    assert np.abs(region(split, right_corner).mean(axis=(0, 1)) - (255, 0, 0)).max() < 3
    assert window.store.settings.gui.split_view
    assert window.commands.split_view.isChecked()


def test_keyboard_shortcuts_switch_effects(qtbot: QtBot, open_window: WindowFactory) -> None:
    window = open_window(gui_settings(kind="none"))
    wait_frames(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert window.store.settings.effect.kind == "blur"
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert window.store.settings.effect.kind == "none"
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert window.store.settings.effect.kind == "blur"
    assert "Ctrl+B" in window.effect_section.effect_buttons["blur"].toolTip()
    assert window.commands.effects["blur"].shortcut().toString() == "Ctrl+B"


def _wait_for_the_camera_at_720p(qtbot: QtBot, window: MainWindow) -> None:
    """The camera reopened at 1280x720, and the preview shows the meeting's picture (the
    window's 640x360 output: a larger camera is worked at the output's size) with new frames."""
    qtbot.waitUntil(lambda: window.engine.pipeline is not None
                    and window.engine.pipeline.source_size == (1280, 720), timeout=20000)
    shown = wait_frames(qtbot, window, 3)  # past any frame still queued from the old camera
    assert shown.shape[:2] == (HEIGHT_PX, WIDTH_PX)


def test_switching_size_reopens_the_source_and_a_bad_source_keeps_the_old(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    window = open_window()
    wait_frames(qtbot, window)
    sizes = window.source_section.size_combo
    sizes.setCurrentIndex(sizes.findData("1280x720"))
    sizes.activated.emit(sizes.currentIndex())
    _wait_for_the_camera_at_720p(qtbot, window)
    assert (window.store.settings.source.width_px, window.store.settings.source.height_px) == (
        1280, 720)
    window.request_source(str(tmp_path / "missing.mp4"), 1280, 720, 30)
    qtbot.waitUntil(lambda: "missing.mp4" in window.banner.text())
    assert window.banner.isVisible()
    assert window.store.settings.source.spec == "demo"
    assert window.source_section.source_combo.currentData() == "demo"
    wait_frames(qtbot, window, 3)


def test_closing_stops_every_thread(qtbot: QtBot, open_window: WindowFactory) -> None:
    baseline = thread_baseline()
    window = open_window()
    wait_frames(qtbot, window)
    assert baseline.python_left(), "the pipeline runs on its own thread"
    window.close()
    qtbot.waitUntil(baseline.check, timeout=10000)
    assert window.engine.pipeline is None


def test_a_missing_saved_background_falls_back_to_blur_and_says_so(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    gone = tmp_path / "deleted beach.jpg"
    window = open_window(gui_settings(kind="image", background=str(gone)))
    frame = wait_frames(qtbot, window)
    assert "deleted beach.jpg" in window.banner.text()
    assert window.store.settings.effect.kind == "blur"
    assert window.effect_section.effect_buttons["blur"].isChecked()
    assert detail(frame, CORNER) < 10


def test_a_start_up_fallback_is_for_this_run_only_and_the_file_keeps_the_users_choice(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    unmounted = tmp_path / "usb stick" / "beach.jpg"
    settings = gui_settings(kind="image", background=str(unmounted))
    window = open_window(dataclasses.replace(
        settings, mask=dataclasses.replace(settings.mask, smoothing=0.5)))
    wait_frames(qtbot, window)
    assert window.store.settings.effect.kind == "blur", "the fallback runs"
    window.store.replace("mask", smoothing=0.25)  # another change is saved as usual
    window.close()

    saved = load_settings().settings
    assert saved.effect.kind == "image" and saved.effect.background == str(unmounted)
    assert saved.mask.smoothing == 0.25


def test_choosing_the_fallback_setting_yourself_saves_it(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    window = open_window(gui_settings(kind="image", background=str(tmp_path / "gone.jpg")))
    wait_frames(qtbot, window)
    window.set_effect("color")
    window.set_effect("blur")
    window.close()
    assert load_settings().settings.effect.kind == "blur"


def test_pipeline_messages_reach_the_status_bar(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    window = open_window()
    wait_frames(qtbot, window)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    window.store.replace("effect", kind="image", background=str(broken))  # as a stale file would
    qtbot.waitUntil(lambda: "broken.jpg" in window.status.currentMessage())


def test_the_first_run_notice_links_to_mediapipe_terms_and_shows_once(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    settings = gui_settings()
    first = open_window(dataclasses.replace(
        settings, gui=dataclasses.replace(settings.gui, first_run_notice_shown=False)))
    assert first.notice.isVisible()
    assert "MediaPipe" in first.notice.text() and PRIVACY_URL in first.notice.text()
    qtbot.mouseClick(first.notice.close_button, Qt.MouseButton.LeftButton)
    assert not first.notice.isVisible()
    first.close()
    again = open_window(load_settings().settings)
    assert not again.notice.isVisible()


def test_closing_while_the_camera_is_still_starting_leaves_nothing_running(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    baseline = thread_baseline()
    window = open_window()
    window.request_source("demo", WIDTH_PX, HEIGHT_PX, 15)
    window.close()
    qtbot.waitUntil(baseline.check, timeout=10000)
    assert window.engine.pipeline is None


def write_video(path: Path, colours_bgr: list[tuple[int, int, int]]) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, (160, 90))
    for colour in colours_bgr:
        for _ in range(5):
            writer.write(np.full((90, 160, 3), colour, np.uint8))
    writer.release()


def test_the_video_effect_asks_for_a_video_then_plays_a_dropped_one(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    window = open_window()
    wait_frames(qtbot, window)
    qtbot.mouseClick(window.effect_section.effect_buttons["video"], Qt.MouseButton.LeftButton)
    assert window.banner.isVisible() and "Add a video" in window.banner.text()
    assert window.store.settings.effect.kind == "blur"
    assert window.effect_section.effect_buttons["blur"].isChecked()
    clip = tmp_path / "beach.mp4"
    write_video(clip, [(200, 40, 40), (40, 200, 40)])
    drop_files(window, [clip])
    qtbot.waitUntil(lambda: window.store.settings.effect.kind == "video")
    assert window.store.settings.effect.video == str(clip)
    clip_colours = {(5, 1, 1), (1, 5, 1)}

    def corner_colour() -> tuple[int, ...]:
        frame = wait_frames(qtbot, window)
        return tuple(np.round(region(frame, CORNER).mean(axis=(0, 1)) / 40).astype(int))

    qtbot.waitUntil(lambda: corner_colour() in clip_colours, timeout=FRAME_TIMEOUT_MS)
    settled_frame(qtbot, window)
    corners = {corner_colour() for _ in range(4)}
    assert corners <= clip_colours, "the corners show the clip's colours"


def test_a_model_file_that_cannot_be_used_is_refused(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    window = open_window()
    wait_frames(qtbot, window)
    bogus = tmp_path / "person.tflite"
    bogus.write_bytes(b"not a model")
    window.pick_file = lambda _title, _filter: str(bogus)
    models = window.tuning_section.model_combo
    models.activated.emit(models.count() - 1)  # "Custom file…"
    assert "person.tflite" in window.banner.text()
    assert window.store.settings.mask.model == "auto"
    assert models.currentData() == "auto"
    wait_frames(qtbot, window, 3)


class _BrokenSource:
    """A source whose device fails on the first read, as an unplugged camera may."""

    name = "broken camera"
    width_px, height_px, fps = WIDTH_PX, HEIGHT_PX, 30.0

    def open(self) -> None:
        pass

    def read(self, timeout_s: float = 1.0) -> None:
        raise RuntimeError("the camera was unplugged")

    def close(self) -> None:
        pass


def test_a_source_that_fails_while_running_is_reported_and_can_be_replaced(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = open_window()
    wait_frames(qtbot, window)
    assert window.engine.pipeline is not None
    window.engine.pipeline.set_source(_BrokenSource())  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: "the camera was unplugged" in window.banner.text())
    sizes = window.source_section.size_combo
    sizes.setCurrentIndex(sizes.findData("1280x720"))
    sizes.activated.emit(sizes.currentIndex())
    _wait_for_the_camera_at_720p(qtbot, window)
    assert window.store.settings.source.width_px == 1280


DESK_CAMERA = CameraInfo(3, "Desk camera", "/dev/video3")  # listed; not in the empty device dir
DESK_CAMERA_MODES = [CameraMode(1920, 1080, (30.0,)), CameraMode(1280, 720, (29.97, 30.0, 60.0)),
                     CameraMode(800, 600, (15.0, 30.0))]


def combo_data(combo: QComboBox) -> list[object]:
    return [combo.itemData(index) for index in range(combo.count())]


def test_the_size_and_rate_pickers_offer_what_the_camera_has(
    qtbot: QtBot, open_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked_from: list[threading.Thread] = []

    def modes_of(camera: CameraInfo) -> list[CameraMode]:
        asked_from.append(threading.current_thread())
        return DESK_CAMERA_MODES if camera == DESK_CAMERA else []

    monkeypatch.setattr(app.gui.bridge, "list_cameras", lambda: [DESK_CAMERA])
    monkeypatch.setattr(app.gui.bridge, "camera_modes", modes_of)
    saved = gui_settings()
    saved = dataclasses.replace(saved, source=dataclasses.replace(
        saved.source, spec="camera:3", width_px=1280, height_px=720, fps=60))
    window = open_window(saved)  # the camera fails to open, so the demo shows meanwhile
    wait_frames(qtbot, window)
    section = window.source_section
    qtbot.waitUntil(lambda: section.source_combo.findText("Desk camera") >= 0)
    assert asked_from and threading.main_thread() not in asked_from
    assert combo_data(section.size_combo) == ["800x600", "1280x720", "1920x1080"]
    assert section.size_combo.currentData() == "1280x720", "the saved size is kept"
    assert combo_data(section.fps_combo) == [30, 60]  # 29.97 is offered as 30
    assert section.fps_combo.currentData() == 60

    section.size_combo.setCurrentIndex(section.size_combo.findData("800x600"))
    section.size_combo.activated.emit(section.size_combo.currentIndex())
    assert combo_data(section.fps_combo) == [15, 30]
    assert section.fps_combo.currentData() == 30, "the nearest rate this size has"
    qtbot.waitUntil(lambda: section.size_combo.currentData() == "1280x720")  # camera refused

    section.source_combo.setCurrentIndex(section.source_combo.findData("demo"))
    section.source_combo.activated.emit(section.source_combo.currentIndex())
    assert combo_data(section.size_combo) == ["640x360", "1280x720", "1920x1080"]
    qtbot.waitUntil(lambda: window.store.settings.source.spec == "demo", timeout=20000)
    assert (window.store.settings.source.width_px, window.store.settings.source.fps) == (1280, 60)


def test_a_camera_that_fails_after_the_first_start_finishes_is_not_saved(
    qtbot: QtBot, open_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order a busy machine gives: the user picks a camera while the preview is still
    starting, the start finishes, then the camera fails. The demo stays, and is what is saved."""
    monkeypatch.setattr(app.gui.bridge, "list_cameras", lambda: [DESK_CAMERA])
    monkeypatch.setattr(app.gui.bridge, "camera_modes", lambda _camera: DESK_CAMERA_MODES)
    pipeline_may_open, source_may_fail = threading.Event(), threading.Event()
    real_open_pipeline, real_open_source = app.gui.bridge.open_pipeline, app.gui.bridge.open_source

    def open_pipeline_later(*args: Any, **kwargs: Any) -> Any:
        pipeline_may_open.wait(timeout=20)
        return real_open_pipeline(*args, **kwargs)

    def open_source_later(*args: Any, **kwargs: Any) -> Any:
        source_may_fail.wait(timeout=20)
        return real_open_source(*args, **kwargs)

    monkeypatch.setattr(app.gui.bridge, "open_pipeline", open_pipeline_later)
    monkeypatch.setattr(app.gui.bridge, "open_source", open_source_later)
    window = open_window()
    section = window.source_section
    qtbot.waitUntil(lambda: section.source_combo.findText("Desk camera") >= 0)
    section.source_combo.setCurrentIndex(section.source_combo.findData("camera:3"))
    section.source_combo.activated.emit(section.source_combo.currentIndex())
    pipeline_may_open.set()
    wait_frames(qtbot, window)
    source_may_fail.set()
    qtbot.waitUntil(lambda: section.source_combo.currentData() == "demo", timeout=20000)
    assert combo_data(section.size_combo) == ["640x360", "1280x720", "1920x1080"]
    assert "camera" in window.banner.text().lower()
    assert window.store.settings.source.spec == "demo"
    window.close()
    assert load_settings().settings.source.spec == "demo"


def test_a_camera_without_the_saved_size_selects_its_nearest(
    qtbot: QtBot, open_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.gui.bridge, "list_cameras", lambda: [DESK_CAMERA])
    monkeypatch.setattr(app.gui.bridge, "camera_modes", lambda _camera: DESK_CAMERA_MODES)
    requests: list[tuple[str, int, int, int]] = []
    window = open_window()  # the demo at 640x360, 30 fps
    window.source_section.source_requested.connect(lambda *request: requests.append(request))
    section = window.source_section
    qtbot.waitUntil(lambda: section.source_combo.findText("Desk camera") >= 0)
    assert combo_data(section.size_combo) == ["640x360", "1280x720", "1920x1080"]
    section.source_combo.setCurrentIndex(section.source_combo.findData("camera:3"))
    section.source_combo.activated.emit(section.source_combo.currentIndex())
    assert requests == [("camera:3", 800, 600, 30)]
    assert combo_data(section.size_combo) == ["800x600", "1280x720", "1920x1080"]
    qtbot.waitUntil(lambda: section.source_combo.currentData() == "demo", timeout=20000)
    assert combo_data(section.size_combo) == ["640x360", "1280x720", "1920x1080"]
    assert section.size_combo.currentData() == "640x360"
    assert "camera" in window.banner.text().lower()
