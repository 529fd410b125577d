"""Fixtures for the GUI tests: the real main window on the demo source, in a private config dir.

Importing this module (at collection, long before pytest-qt creates the QApplication) selects
Qt's offscreen platform and, through `app.gui`, removes the Qt 5 plugin paths that cv2 sets.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

import app.gui  # noqa: E402, F401 - cleans the Qt environment before the QApplication
from app.devices.camera import DEV_DIR_ENV, SYSFS_VIDEO_DIR_ENV  # noqa: E402
from app.gui.main import app_icon  # noqa: E402
from app.gui.window import MainWindow  # noqa: E402
from app.settings import CONFIG_DIR_ENV, Settings  # noqa: E402
from tests.threads import thread_baseline  # noqa: E402
from tests.vcam_backend import RECORDING_BACKEND, VcamRecorder  # noqa: E402

FRAME_TIMEOUT_MS = 20000
# Long enough for the pipeline's backoff (0.5 s doubling) to reach a device that came back.
RETRY_TIMEOUT_MS = 20000
WIDTH_PX, HEIGHT_PX = 640, 360

# The offscreen platform cannot resize native windows to size hints and says so whenever a
# top-level window's minimum size changes; that is the test platform's limit, not a bug here.
_SIZE_HINTS = "This plugin does not support propagateSizeHints"
OFFSCREEN_NOISE = pytest.mark.qt_log_ignore(_SIZE_HINTS)
# It has no system tray and cannot raise windows either; the tray test exercises the code anyway.
# (pytest-qt uses the closest qt_log_ignore marker only, so this one repeats the size hints.)
OFFSCREEN_TRAY_NOISE = pytest.mark.qt_log_ignore(
    _SIZE_HINTS,
    "No such signal QPlatformNativeInterface::systemTrayWindowChanged",
    "This plugin does not support raise()",
)


def gui_settings(**effect: Any) -> Settings:
    """Demo source at 640x360, not mirrored (so the demo's person boxes apply), no notice."""
    settings = Settings()
    return dataclasses.replace(
        settings,
        source=dataclasses.replace(settings.source, spec="demo", width_px=WIDTH_PX,
                                   height_px=HEIGHT_PX, fps=30),
        effect=dataclasses.replace(settings.effect, **effect),
        output=dataclasses.replace(settings.output, mirror=False, virtualcam=False,
                                   backend=RECORDING_BACKEND, width_px=WIDTH_PX,
                                   height_px=HEIGHT_PX),
        gui=dataclasses.replace(settings.gui, first_run_notice_shown=True),
    )


@pytest.fixture(name="config_dir")
def config_dir_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private settings folder (BACKDROP_CONFIG_DIR) for this test, and camera folders with
    no devices, so a camera a test lists but cannot open fails the same on every machine."""
    folder = tmp_path / "config"
    monkeypatch.setenv(CONFIG_DIR_ENV, str(folder))
    monkeypatch.setenv(DEV_DIR_ENV, str(tmp_path / "no-devices" / "dev"))
    monkeypatch.setenv(SYSFS_VIDEO_DIR_ENV, str(tmp_path / "no-devices" / "sys"))
    return folder


WindowFactory = Callable[..., MainWindow]


@pytest.fixture(name="open_window")
def open_window_fixture(qtbot: QtBot, config_dir: Path) -> Iterator[WindowFactory]:
    """Opens real main windows (no tray); closes any left open and checks no thread outlives it.
    """
    baseline = thread_baseline()
    windows: list[MainWindow] = []

    def factory(settings: Settings | None = None, tray: bool = False) -> MainWindow:
        icon = app_icon() if tray else None
        window = MainWindow(settings or gui_settings(), icon=icon, use_tray=tray)
        windows.append(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    yield factory
    for window in windows:
        window.shutdown()  # what quitting does, also for a window hidden in the tray
        window.close()
        window.deleteLater()
    qtbot.waitUntil(baseline.check, timeout=10000)


def wait_frames(qtbot: QtBot, window: MainWindow, count: int = 1) -> np.ndarray:
    """Wait until the preview has shown `count` more frames; return the newest output frame."""
    target = window.preview.frames_shown + count
    qtbot.waitUntil(lambda: window.preview.frames_shown >= target, timeout=FRAME_TIMEOUT_MS)
    frame = window.preview.last_frame_bgr
    assert frame is not None
    return frame.copy()


def settled_frame(qtbot: QtBot, window: MainWindow) -> np.ndarray:
    """A frame after a change has had time to take effect (temporal smoothing included)."""
    return wait_frames(qtbot, window, 12)


def wait_sent(qtbot: QtBot, recorder: VcamRecorder, count: int = 1,
              timeout_ms: int = FRAME_TIMEOUT_MS) -> None:
    """Wait until the newest recording virtual camera has received `count` frames."""
    qtbot.waitUntil(lambda: bool(recorder.cameras) and recorder.last.frames_received >= count,
                    timeout=timeout_ms)
