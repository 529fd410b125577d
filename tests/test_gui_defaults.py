"""The window at the settings a new user has: 1280x720, the default mirror and refinement,
the virtual camera on; and a camera another app holds at start."""

from __future__ import annotations

import dataclasses

import numpy as np
from pytestqt.qtbot import QtBot

from app.devices.demo import DemoSource
from app.devices.links import CARD_BGR
from app.settings import Settings
from tests.gui_fixtures import (  # noqa: F401 - the *_fixture names are fixtures
    OFFSCREEN_NOISE,
    WindowFactory,
    config_dir_fixture,
    open_window_fixture,
    wait_sent,
)
from tests.test_defaults import person_iou
from tests.vcam_backend import (  # noqa: F401 - recording_vcam_fixture is a fixture
    RECORDING_BACKEND,
    VcamRecorder,
    recording_vcam_fixture,
)

pytestmark = OFFSCREEN_NOISE


def _defaults(spec: str) -> Settings:
    """Everything at its default but the source and the test's virtual camera backend."""
    settings = Settings()
    return dataclasses.replace(
        settings,
        source=dataclasses.replace(settings.source, spec=spec),
        effect=dataclasses.replace(settings.effect, kind="color", color_rgb=(0, 255, 0)),
        output=dataclasses.replace(settings.output, backend=RECORDING_BACKEND),
        gui=dataclasses.replace(settings.gui, first_run_notice_shown=True),
    )


def test_at_the_defaults_the_meeting_gets_720p_unmirrored_and_the_preview_is_the_mirror(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    settings = _defaults("demo")
    assert (settings.source.width_px, settings.source.height_px) == (1280, 720)
    assert settings.output.mirror and settings.mask.refinement == "fast"
    window = open_window(settings)
    wait_sent(qtbot, recording_vcam, 10)
    camera = recording_vcam.last
    assert (camera.width_px, camera.height_px) == (1280, 720)
    sent = camera.recent_frames[-1]
    demo = DemoSource(1280, 720)
    demo.open()
    truth = demo.person_alpha(0)  # she sways by well under a pixel a frame
    demo.close()
    assert person_iou(sent, truth) > 0.85
    assert person_iou(sent, truth) > person_iou(sent, truth[:, ::-1]) + 0.1
    assert window.preview.mirrored  # the self-view is the mirror (flipping: test_gui_preview)


def test_a_camera_another_app_holds_sends_the_unavailable_card_not_the_demo(
    qtbot: QtBot, open_window: WindowFactory, recording_vcam: VcamRecorder
) -> None:
    """The window used to fall back to the demo, and the meeting saw the demo astronaut."""
    window = open_window(_defaults("camera:3"))  # listed nowhere here: it cannot be opened
    wait_sent(qtbot, recording_vcam, 5)
    sent = recording_vcam.last.recent_frames[-1]
    card = (np.abs(sent.astype(np.int16) - np.array(CARD_BGR)).max(axis=2) < 24).mean()
    assert card > 0.8
    qtbot.waitUntil(lambda: "Camera unavailable" in window.status.currentMessage()
                    or "Camera unavailable" in window.banner.text(), timeout=10000)
