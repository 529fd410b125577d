"""`backdrop` with no arguments: the application object, the look, and the main window.

Importing `app.gui` has already removed the Qt 5 plugin paths cv2 sets, before PySide6 loads.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyleFactory

from app.gui.qtenv import clean_qt_environment
from app.gui.window import MainWindow
from app.settings import load_settings

ICONS_DIR = Path(__file__).resolve().parents[2] / "assets" / "icons"


def app_icon() -> QIcon:
    """Backdrop's icon from assets/icons (SVG plus PNG sizes); a null icon if none is there."""
    icon = QIcon()
    svg = ICONS_DIR / "backdrop.svg"
    if svg.is_file():
        icon.addFile(str(svg))
    for png in sorted(ICONS_DIR.glob("backdrop-*.png")):
        icon.addFile(str(png))
    return icon


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication with Fusion on the platform's palette (light or dark), and the icon."""
    clean_qt_environment()
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName("Backdrop")
    app.setApplicationDisplayName("Backdrop")
    app.setOrganizationName("Backdrop")
    app.setDesktopFileName("backdrop")
    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
    app.setWindowIcon(app_icon())
    return app


def run_gui(argv: Sequence[str] | None = None) -> int:
    """Open the main window and run until the user quits; returns the exit code."""
    app = create_application(argv)
    loaded = load_settings()
    window = MainWindow(loaded.settings, loaded.messages, icon=app.windowIcon())
    app.setQuitOnLastWindowClosed(window.tray is None)
    window.show()
    timer = _quit_on_signals(window)
    try:
        code = app.exec()
    finally:
        timer.stop()
        window.shutdown()
    return int(code)


def _quit_on_signals(window: MainWindow) -> QTimer:
    """Ctrl-C and SIGTERM quit cleanly (the camera is released); the timer lets Python run
    its signal handlers while Qt's event loop waits."""

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        window.quit()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    timer = QTimer()
    timer.setInterval(250)
    timer.timeout.connect(lambda: None)
    timer.start()
    return timer
