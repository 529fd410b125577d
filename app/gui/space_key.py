"""Hold Space to see the original camera, without taking Space from the controls.

An application-wide event filter owned by the window. Space is the compare key on the preview,
or when nothing that answers Space itself has the focus; on a focused checkbox, button, combo,
slider, list or text field Space does what it always does, so keyboard users can still use it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

# Controls that answer Space themselves (toggle, press, open, select, type).
SPACE_CONTROLS = (QAbstractButton, QComboBox, QAbstractSlider, QAbstractSpinBox, QLineEdit,
                  QTextEdit, QPlainTextEdit, QAbstractItemView)


class SpaceToCompare(QObject):
    """Calls `hold(True)` when Space goes down as the compare key and `hold(False)` when it
    comes up (wherever the focus is by then, so the original view never sticks)."""

    def __init__(self, window: QWidget, preview: QWidget, hold: Callable[[bool], None]) -> None:
        super().__init__(window)
        self._window = window
        self._preview = preview
        self._hold = hold
        self._held = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            key_event = event
            assert isinstance(key_event, QKeyEvent)
            if (key_event.key() == Qt.Key.Key_Space and not key_event.isAutoRepeat()
                    and isinstance(watched, QWidget) and watched.window() is self._window):
                return self._on_space(watched, event.type() == QEvent.Type.KeyPress)
        return super().eventFilter(watched, event)

    def _on_space(self, receiver: QWidget, pressed: bool) -> bool:
        """True when Space was taken (the widget it was sent to never sees it)."""
        if not pressed:
            held, self._held = self._held, False
            if held:
                self._hold(False)
            return held
        if not self._is_compare(receiver):
            return False
        self._held = True
        self._hold(True)
        return True

    def _is_compare(self, receiver: QWidget) -> bool:
        if receiver is self._preview:
            return True
        focus = QApplication.focusWidget()
        target = focus if focus is not None and focus.window() is self._window else receiver
        return target is self._preview or not isinstance(target, SPACE_CONTROLS)
