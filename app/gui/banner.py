"""A non-modal message strip across the top of the window: errors, notices, the first-run note."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QWidget,
)

_ICON_PX = 20


class Banner(QFrame):
    """One message with an icon and a close button; hides itself when dismissed."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self._icon = QLabel()
        self._icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text_label = QLabel()
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.TextFormat.RichText)
        self.text_label.setOpenExternalLinks(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.text_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.close_button = QPushButton("Dismiss")
        self.close_button.setToolTip("Hide this message")
        self.close_button.clicked.connect(self._on_close_clicked)
        layout.addWidget(self._icon)
        layout.addWidget(self.text_label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, html: str, *, warning: bool = False, button: str = "Dismiss") -> None:
        """Show `html` (rich text, links open in the browser); replaces any current message."""
        pixmap = QStyle.StandardPixmap.SP_MessageBoxWarning if warning else (
            QStyle.StandardPixmap.SP_MessageBoxInformation
        )
        self._icon.setPixmap(self.style().standardIcon(pixmap).pixmap(_ICON_PX, _ICON_PX))
        self.text_label.setText(html)
        self.close_button.setText(button)
        self.show()

    def text(self) -> str:
        """The message as plain text (for tests and accessibility)."""
        return self.text_label.text()

    def _on_close_clicked(self) -> None:
        self.hide()
        self.dismissed.emit()
