"""Screenshots of the real main window in its main states, for the README and for review.

Run under a virtual screen: `bash packaging/screenshots.sh` (xvfb-run). States: blur, image,
split view, colour, the Studio section (light and touch-up on), and first run with a virtual
camera (a stand-in pyvirtualcam backend that reports /dev/video10, as v4l2loopback would), and
"no virtual camera" with this machine's real backends.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6.QtWidgets import QWidget
from pyvirtualcam import camera as pyvirtualcam_camera

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.engine.session import bundled_backgrounds  # noqa: E402
from app.gui.main import create_application  # noqa: E402 - after the path is set
from app.gui.window import MainWindow  # noqa: E402
from app.settings import Settings  # noqa: E402

STAND_IN_BACKEND = "screenshot-stand-in"
STAND_IN_DEVICE = "/dev/video10"


class StandInCamera:
    """A pyvirtualcam backend that accepts frames and reports a v4l2loopback-like device; it
    keeps the last frame (RGB), which is what a meeting app would show."""

    last_frame_rgb: np.ndarray | None = None

    def __init__(self, **kwargs: Any) -> None:
        self._shape = (int(kwargs.get("height", 0)), int(kwargs.get("width", 0)), 3)

    def send(self, frame: np.ndarray) -> None:
        if frame.size == int(np.prod(self._shape)):  # RGB, flattened by pyvirtualcam
            StandInCamera.last_frame_rgb = frame.reshape(self._shape).copy()

    def close(self) -> None:
        pass

    def device(self) -> str:
        return STAND_IN_DEVICE

    def native_fourcc(self) -> int | None:
        return None


def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Run the Qt event loop until `condition` holds; fail loudly if it never does."""
    from PySide6.QtWidgets import QApplication

    deadline_s = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline_s:
            raise SystemExit(f"screenshots: timed out waiting for {condition}")
        QApplication.processEvents()
        time.sleep(0.01)


def settle(window: MainWindow, frames: int = 20) -> None:
    """Let a change show: wait for `frames` new preview frames, then repaint."""
    target = window.preview.frames_shown + frames
    wait_until(lambda: window.preview.frames_shown >= target)


def save(window: QWidget, folder: Path, name: str, suffix: str) -> Path:
    path = folder / f"{name}{suffix}.png"
    if not window.grab().save(str(path)):
        raise SystemExit(f"screenshots: could not write {path}")
    print(f"wrote {path}")
    return path


def initial_settings(first_run: bool) -> Settings:
    settings = Settings()
    return dataclasses.replace(
        settings,
        source=dataclasses.replace(settings.source, spec="demo"),
        output=dataclasses.replace(settings.output, backend=STAND_IN_BACKEND, virtualcam=True),
        gui=dataclasses.replace(settings.gui, first_run_notice_shown=not first_run),
    )


def take(folder: Path, suffix: str) -> None:
    """Open the window, switch through the states, save one picture of each."""
    app = create_application()
    window = MainWindow(initial_settings(first_run=True), icon=app.windowIcon(), use_tray=False)
    screen = app.primaryScreen()
    window.setGeometry(screen.availableGeometry())  # Xvfb has no window manager to maximise
    window.show()
    settle(window, 40)
    save(window, folder, "first-run", suffix)
    window.notice.hide()
    settle(window)
    save(window, folder, "blur", suffix)
    window.effects.choose_background(str(bundled_backgrounds()[1]))
    settle(window)
    save(window, folder, "image", suffix)
    window.commands.split_view.trigger()
    settle(window)
    save(window, folder, "split", suffix)
    window.commands.split_view.trigger()
    window.effect_section.choose_colour((40, 120, 80))
    settle(window)
    save(window, folder, "colour", suffix)
    window.effects.set_effect("blur")
    window.studio_section.light_slider.slider.setValue(50)
    window.studio_section.touch_up_slider.slider.setValue(70)
    settle(window, 40)  # the face detector builds first
    save(window.studio_section, folder, "studio-section", suffix)
    window.studio_section.light_slider.slider.setValue(0)
    window.studio_section.touch_up_slider.slider.setValue(0)
    window.set_virtualcam(False)  # the device stays open and the meeting sees a card
    settle(window)
    save(window, folder, "virtualcam-off", suffix)
    sent = StandInCamera.last_frame_rgb
    if sent is not None:
        cv2.imwrite(str(folder / f"virtualcam-off-card{suffix}.png"),
                    cv2.cvtColor(sent, cv2.COLOR_RGB2BGR))
    window.set_virtualcam(True)
    window.virtualcam.release()  # closes the device: the next open uses the real backend
    pyvirtualcam_camera.BACKENDS.pop(STAND_IN_BACKEND)  # only this machine's real backends now
    window.store.replace("output", backend="")
    window.effects.set_effect("blur")
    window.set_virtualcam(True)
    settle(window)
    save(window, folder, "no-virtualcam", suffix)
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "screenshots")
    parser.add_argument("--suffix", default="", help="added to each file name, e.g. -1080p")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pyvirtualcam_camera.register_backend(STAND_IN_BACKEND, StandInCamera)
    with tempfile.TemporaryDirectory(prefix="backdrop-screenshots-") as config_dir:
        os.environ["BACKDROP_CONFIG_DIR"] = config_dir  # never touch the user's settings
        take(args.out, args.suffix)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
