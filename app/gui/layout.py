"""Layout helpers: the scrollable control column and the preview/controls splitter."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLayout, QScrollArea, QSplitter, QVBoxLayout, QWidget


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
