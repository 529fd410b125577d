"""The window's copy of the settings: every change is applied at once and saved shortly after."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.settings import Settings, SettingsError, save_settings

SAVE_DELAY_MS = 400


class SettingsStore(QObject):
    """Holds the current Settings; `changed` on every change; saves debounced (and on flush)."""

    changed = Signal(object)
    save_failed = Signal(str)

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.flush)
        self._dirty = False

    @property
    def settings(self) -> Settings:
        return self._settings

    def replace(self, section: str, **changes: Any) -> Settings:
        """Change fields of one section (e.g. `replace("effect", kind="blur")`), emit, save later.

        Raises SettingsError for a value the settings reject; nothing changes then.
        """
        current = getattr(self._settings, section)
        updated = dataclasses.replace(current, **changes)
        if updated == current:
            return self._settings
        self._settings = dataclasses.replace(self._settings, **{section: updated})
        self._dirty = True
        self._save_timer.start()
        self.changed.emit(self._settings)
        return self._settings

    def flush(self) -> None:
        """Write pending changes now (also called by the timer and when the window closes)."""
        self._save_timer.stop()
        if not self._dirty:
            return
        self._dirty = False
        try:
            save_settings(self._settings)
        except SettingsError as error:
            self.save_failed.emit(str(error))
