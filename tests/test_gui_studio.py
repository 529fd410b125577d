"""The window's Studio section: its controls change the picture live and are saved."""

from __future__ import annotations

import cv2
import numpy as np
from pytestqt.qtbot import QtBot

from app.devices.demo import demo_person_regions
from app.settings import load_settings
from tests.gui_fixtures import (  # noqa: F401 - the *_fixture names are fixtures
    HEIGHT_PX,
    OFFSCREEN_NOISE,
    WIDTH_PX,
    WindowFactory,
    config_dir_fixture,
    gui_settings,
    open_window_fixture,
    settled_frame,
)

pytestmark = OFFSCREEN_NOISE


def test_the_vignette_slider_darkens_the_corners_and_the_choices_are_saved(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = open_window(gui_settings(kind="blur"))
    before = settled_frame(qtbot, window)
    window.studio_section.vignette_slider.slider.setValue(100)
    after = settled_frame(qtbot, window)
    assert after[:20, :20].mean() < before[:20, :20].mean() * 0.7
    window.studio_section.main_person_check.click()
    window.studio_section.framing_check.click()
    assert window.studio_section.zoom_spin.isEnabled()
    window.store.flush()
    saved = load_settings().settings.studio
    assert (saved.vignette, saved.main_person, saved.framing) == (1.0, True, "auto")


def _face_texture(frame_bgr: np.ndarray) -> float:
    face = demo_person_regions(WIDTH_PX, HEIGHT_PX).face
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    detail = (gray - cv2.GaussianBlur(gray, (0, 0), 1.5)) ** 2
    return float(detail[face.y0:face.y1, face.x0:face.x1].mean())


def test_the_touch_up_slider_smooths_the_face_live_and_light_and_touch_up_are_saved(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = open_window(gui_settings(kind="blur"))
    before = _face_texture(settled_frame(qtbot, window))
    window.studio_section.touch_up_slider.slider.setValue(100)
    window.studio_section.light_slider.slider.setValue(40)
    # The face detector builds on a helper thread (most of a second the first time); the
    # touch-up starts at the first frame after it is ready.
    qtbot.waitUntil(lambda: _face_texture(window.preview.last_frame_bgr) < 0.8 * before,
                    timeout=30_000)
    window.store.flush()
    saved = load_settings().settings.studio
    assert (saved.touch_up, saved.light) == (1.0, 0.4)


def test_adjusting_framing_outlines_its_crop_on_the_whole_picture_for_a_moment(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = open_window(gui_settings(kind="blur"))
    settled_frame(qtbot, window)
    window.studio_section.framing_check.click()
    assert window.engine.preview_mode == "framing"
    window.studio_section.zoom_spin.setValue(2.0)  # adjusting again keeps it outlined
    outline = np.array([235, 235, 235], np.uint8)
    qtbot.waitUntil(lambda: (window.preview.last_frame_bgr == outline).all(axis=2).sum() > 1000,
                    timeout=20_000)
    qtbot.waitUntil(lambda: window.engine.preview_mode == "output", timeout=20_000)
