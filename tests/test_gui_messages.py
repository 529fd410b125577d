"""Status messages reach the window however long Backdrop has run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.gui_fixtures import (  # noqa: F401 - fixtures
    OFFSCREEN_NOISE,
    WindowFactory,
    config_dir_fixture,
    gui_settings,
    open_window_fixture,
    wait_frames,
)

pytestmark = OFFSCREEN_NOISE


def test_a_new_message_is_shown_after_hundreds_of_earlier_ones(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    """The pipeline keeps only its recent messages; once its list was full, the window once
    stopped showing new ones, "camera lost" and "virtual camera failed" included."""
    settings = gui_settings(kind="blur")
    window = open_window(settings)
    wait_frames(qtbot, window)
    pipeline = window.engine.pipeline
    assert pipeline is not None
    for number in range(350):  # a long session's worth of news
        pipeline.messages.add(f"earlier news {number}")
    qtbot.waitUntil(lambda: "earlier news 349" in window.status.currentMessage(), timeout=5000)
    missing = tmp_path / "holiday.jpg"
    effect = dataclasses.replace(settings.effect, kind="image", background=str(missing))
    window.engine.update_settings(dataclasses.replace(settings, effect=effect))
    qtbot.waitUntil(lambda: "holiday.jpg" in window.status.currentMessage(), timeout=10000)
