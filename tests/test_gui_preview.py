"""The preview widget: frames scaled cheaply for the screen, and nothing done while hidden."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pytestqt.qtbot import QtBot

import tests.gui_fixtures  # noqa: F401 - offscreen Qt without cv2's Qt 5 plugins
from app.devices.demo import DemoRenderer
from app.engine.stats import StatsSnapshot
from app.gui.bridge import PreviewFrame
from app.gui.preview import PreviewWidget, scale_for_screen


def _frame(colour_bgr: tuple[int, int, int]) -> PreviewFrame:
    image = np.zeros((360, 640, 3), np.uint8)
    image[:] = colour_bgr
    return PreviewFrame(image, StatsSnapshot())


def _shown_preview(qtbot: QtBot) -> PreviewWidget:
    widget = PreviewWidget()
    qtbot.addWidget(widget)
    widget.resize(640, 360)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _painted_centre(widget: PreviewWidget) -> tuple[int, int, int]:
    image = widget.grab().toImage()
    colour = image.pixelColor(image.width() // 2, image.height() // 2)
    return colour.blue(), colour.green(), colour.red()


def test_scaling_for_the_screen_looks_like_area_averaging() -> None:
    for width_px, height_px in [(1280, 720), (1920, 1080)]:
        frame_bgr = DemoRenderer(width_px, height_px).render(0.5)
        for target in [(820, 461), (400, 225), (width_px, height_px)]:
            scaled = scale_for_screen(frame_bgr, *target)
            assert scaled.shape == (target[1], target[0], 3)
            reference = cv2.resize(frame_bgr, target, interpolation=cv2.INTER_AREA)
            assert np.abs(scaled.astype(int) - reference).mean() < 2.0


def test_the_preview_paints_the_newest_frame(qtbot: QtBot) -> None:
    widget = _shown_preview(qtbot)
    widget.show_frame(_frame((30, 200, 90)))
    assert _painted_centre(widget) == (30, 200, 90)
    widget.show_frame(_frame((200, 40, 10)))
    assert _painted_centre(widget) == (200, 40, 10)


def test_a_minimised_window_keeps_frames_without_scaling_and_catches_up(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.gui.preview as preview_module

    scaled: list[tuple[int, int]] = []

    def counting_scale(image_bgr: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
        scaled.append((width_px, height_px))
        return scale_for_screen(image_bgr, width_px, height_px)

    monkeypatch.setattr(preview_module, "scale_for_screen", counting_scale)
    widget = _shown_preview(qtbot)
    widget.show_frame(_frame((30, 200, 90)))
    widget.showMinimized()
    qtbot.waitUntil(widget.isMinimized)
    widget.show_frame(_frame((200, 40, 10)))
    assert widget.frames_shown == 2
    assert widget.last_frame_bgr is not None and widget.last_frame_bgr[0, 0, 0] == 200
    assert len(scaled) == 1, "a minimised preview spends nothing on frames nobody sees"
    widget.showNormal()
    qtbot.waitUntil(lambda: not widget.isMinimized())
    widget.show_frame(_frame((5, 5, 250)))
    assert _painted_centre(widget) == (5, 5, 250)


def _painted_at(widget: PreviewWidget, x_share: float) -> tuple[int, int, int]:
    image = widget.grab().toImage()
    colour = image.pixelColor(int(image.width() * x_share), image.height() // 2)
    return colour.blue(), colour.green(), colour.red()


def test_a_mirrored_preview_shows_the_frame_flipped_left_to_right(qtbot: QtBot) -> None:
    image = np.zeros((360, 640, 3), np.uint8)
    image[:, :320] = (0, 0, 255)  # red on the camera's left
    frame = PreviewFrame(image, StatsSnapshot())
    widget = _shown_preview(qtbot)
    widget.show_frame(frame)
    assert _painted_at(widget, 0.25) == (0, 0, 255)
    widget.mirrored = True
    widget.show_frame(frame)
    assert _painted_at(widget, 0.25) == (0, 0, 0)
    assert _painted_at(widget, 0.75) == (0, 0, 255)
    assert frame.frame_bgr[0, 0, 2] == 255, "the frame itself (what the meeting gets) is untouched"
