"""Layout helpers: the scrollable control column, the splitter, and window geometry."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLayout,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)


def column(widgets: Iterable[QWidget | QLayout], margins: tuple[int, int, int, int],
           stretch_index: int | None = None) -> QWidget:
    """Widgets (or layouts) stacked vertically; `stretch_index` takes the spare height."""
    container = QWidget()
    layout = QVBoxLayout(container)
    layout.setContentsMargins(*margins)
    for index, item in enumerate(widgets):
        stretch = 1 if index == stretch_index else 0
        if isinstance(item, QLayout):
            layout.addLayout(item, stretch)
        else:
            layout.addWidget(item, stretch)
    if stretch_index is None:
        layout.addStretch(1)
    return container


def scrollable(content: QWidget, min_width_px: int) -> QScrollArea:
    """`content` in a frameless, vertically scrolling area at least `min_width_px` wide."""
    scroll = QScrollArea()
    scroll.setWidget(content)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(min_width_px)
    return scroll


def side_by_side(main: QWidget, side: QWidget) -> QSplitter:
    """A splitter that gives `main` every extra pixel; neither side can be collapsed."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(main)
    splitter.addWidget(side)
    splitter.setStretchFactor(0, 1)
    splitter.setStretchFactor(1, 0)
    splitter.setChildrenCollapsible(False)
    return splitter


def geometry_text(window: QWidget) -> str:
    """The window's position, size and state as text for the settings file (base64)."""
    return bytes(window.saveGeometry().toBase64().data()).decode("ascii")


def restore_geometry(window: QWidget, text: str) -> None:
    """Put the window back where it was; the first time, most of the screen (up to 1440x900)."""
    if text and window.restoreGeometry(QByteArray.fromBase64(text.encode("ascii"))):
        return
    screen = QApplication.primaryScreen()
    if screen is None:
        window.resize(1280, 800)
        return
    available = screen.availableGeometry()
    window.resize(min(1440, int(available.width() * 0.9)),
                  min(900, int(available.height() * 0.9)))
