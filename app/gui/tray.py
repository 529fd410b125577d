"""The system tray icon: show/hide, effect, virtual camera, pause, presets and quit."""

from __future__ import annotations

from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget


class TrayIcon(QSystemTrayIcon):
    """Shares the window's actions, so checks and shortcuts stay in sync everywhere."""

    def __init__(
        self, icon: QIcon, show_action: QAction, actions: list[QAction], menus: list[QMenu],
        quit_action: QAction, parent: QWidget,
    ) -> None:
        super().__init__(icon, parent)
        self.setToolTip("Backdrop")
        self._menu = QMenu(parent)
        self._menu.addAction(show_action)
        self._menu.addSeparator()
        for action in actions:
            self._menu.addAction(action)
        for menu in menus:
            self._menu.addMenu(menu)
        self._menu.addSeparator()
        self._menu.addAction(quit_action)
        self.setContextMenu(self._menu)
        self._show_action = show_action
        self.activated.connect(self._on_activated)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self._show_action.trigger()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()
