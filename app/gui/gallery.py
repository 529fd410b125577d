"""The background gallery: thumbnails of the bundled backgrounds and the user's own additions.

Clicking a thumbnail asks for that background; the user's additions have a context menu to
remove them. Adding (button or drag and drop) is validated by the window before it lands here.
"""

from __future__ import annotations

from pathlib import Path

import cv2
from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QImageReader, QPainter, QPalette, QPixmap, QPolygon
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QGroupBox,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from compositing.backgrounds import VIDEO_EXTENSIONS

THUMB_SIZE = QSize(96, 54)
COLUMNS = 3


def is_video(path: str) -> bool:
    """Videos are told apart by extension here (the engine checks the content when loading)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def thumbnail(path: str) -> QPixmap:
    """A cover-fitted thumbnail: an image's pixels, or a video's first frame with a play mark."""
    image = _video_frame(path) if is_video(path) else _scaled_image(path)
    pixmap = QPixmap(THUMB_SIZE)
    pixmap.fill(QColor(Qt.GlobalColor.darkGray))
    painter = QPainter(pixmap)
    if image is not None and not image.isNull():
        scaled = image.scaled(THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                              Qt.TransformationMode.SmoothTransformation)
        left = (scaled.width() - THUMB_SIZE.width()) // 2
        top = (scaled.height() - THUMB_SIZE.height()) // 2
        painter.drawImage(0, 0, scaled, left, top, THUMB_SIZE.width(), THUMB_SIZE.height())
    if is_video(path):
        _paint_play_mark(painter)
    painter.end()
    return pixmap


def _scaled_image(path: str) -> QImage | None:
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid():
        reader.setScaledSize(size.scaled(THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatioByExpanding))
    image = reader.read()
    return None if image.isNull() else image


def _video_frame(path: str) -> QImage | None:
    capture = cv2.VideoCapture(path)
    try:
        ok, frame_bgr = capture.read()
    finally:
        capture.release()
    if not ok or frame_bgr is None:
        return None
    small = cv2.resize(frame_bgr, (THUMB_SIZE.width() * 2, THUMB_SIZE.height() * 2))
    height_px, width_px = small.shape[:2]
    return QImage(small.data, width_px, height_px, 3 * width_px,
                  QImage.Format.Format_BGR888).copy()


def _paint_play_mark(painter: QPainter) -> None:
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    centre = QPoint(THUMB_SIZE.width() // 2, THUMB_SIZE.height() // 2)
    painter.setBrush(QColor(0, 0, 0, 140))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(centre, 14, 14)
    painter.setBrush(QColor(255, 255, 255, 230))
    painter.drawPolygon(QPolygon([centre + QPoint(-5, -8), centre + QPoint(-5, 8),
                                  centre + QPoint(9, 0)]))


class BackgroundGallery(QGroupBox):
    """A grid of thumbnail buttons with an Add… button."""

    background_chosen = Signal(str)
    add_requested = Signal()
    remove_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Background", parent)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        self._user_paths: set[str] = set()
        self._thumbs: dict[str, QIcon] = {}
        self._grid = QGridLayout()
        self._grid.setSpacing(6)
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip(
            "Add your own image or video (Ctrl+O). You can also drop files on the window."
        )
        self.add_button.clicked.connect(self.add_requested.emit)
        hint = QLabel("Right-click one of your own backgrounds to remove it.")
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.addLayout(self._grid)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(hint)

    def set_backgrounds(self, bundled: list[str], user: list[str]) -> None:
        """Show `bundled` then `user` backgrounds (thumbnails are made once per path)."""
        for button in self.buttons.values():
            self._group.removeButton(button)
            button.deleteLater()
        self.buttons = {}
        self._user_paths = set(user)
        for index, path in enumerate([*bundled, *user]):
            button = self._make_button(path, removable=path in self._user_paths)
            self.buttons[path] = button
            self._grid.addWidget(button, index // COLUMNS, index % COLUMNS)

    def _make_button(self, path: str, removable: bool) -> QToolButton:
        button = QToolButton()
        button.setCheckable(True)
        button.setAutoRaise(False)
        if path not in self._thumbs:
            self._thumbs[path] = QIcon(thumbnail(path))
        button.setIcon(self._thumbs[path])
        button.setIconSize(THUMB_SIZE)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        kind = "video" if is_video(path) else "image"
        button.setToolTip(f"{Path(path).name} ({kind}{', yours' if removable else ''})")
        button.setAccessibleName(f"Background {Path(path).name}")
        self._group.addButton(button)
        button.clicked.connect(lambda _checked=False, p=path: self.background_chosen.emit(p))
        if removable:
            button.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            button.customContextMenuRequested.connect(
                lambda position, p=path, b=button: self._show_menu(p, b.mapToGlobal(position))
            )
        return button

    def context_menu(self, path: str) -> QMenu:
        """The menu a user background shows on right-click."""
        menu = QMenu(self)
        remove = menu.addAction("Remove from gallery")
        remove.triggered.connect(lambda: self.remove_requested.emit(path))
        return menu

    def _show_menu(self, path: str, where: QPoint) -> None:
        menu = self.context_menu(path)
        menu.exec(where)
        menu.deleteLater()

    def show_current(self, path: str | None) -> None:
        """Mark the background in use (None: no image or video effect is on)."""
        self._group.setExclusive(False)
        for button_path, button in self.buttons.items():
            button.setChecked(button_path == path)
        self._group.setExclusive(True)
