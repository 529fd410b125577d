"""The window's Studio section: its controls change the picture live and are saved."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.settings import load_settings
from tests.gui_fixtures import (  # noqa: F401 - the *_fixture names are fixtures
    OFFSCREEN_NOISE,
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
