"""The window's copy of the settings: every change is applied at once and saved shortly after.

A start-up fallback (blur while the chosen picture is missing, the bundled model while the
chosen one will not load) applies for this run only: the file keeps the user's choice, so the
picture is used again once it is back. Setting that field themselves makes it the user's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.settings import SECTION_TYPES, Settings, SettingsError, save_settings

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
        self._users_values: dict[tuple[str, str], Any] = {}  # under this run's fallbacks

    @property
    def settings(self) -> Settings:
        """What runs and what the controls show (this run's fallbacks included)."""
        return self._settings

    @property
    def saved_settings(self) -> Settings:
        """What is written to the file: `settings` with the user's own values under fallbacks."""
        settings = self._settings
        for (section, key), value in self._users_values.items():
            updated = dataclasses.replace(getattr(settings, section), **{key: value})
            settings = dataclasses.replace(settings, **{section: updated})
        return settings

    def replace(self, section: str, **changes: Any) -> Settings:
        """Change fields of one section (e.g. `replace("effect", kind="blur")`), emit, save later.

        Raises SettingsError for a value the settings reject; nothing changes then.
        """
        updated = dataclasses.replace(getattr(self._settings, section), **changes)
        chosen = [key for key in changes if (section, key) in self._users_values]
        for key in chosen:  # the user's own choice now, saved even if it equals the fallback
            del self._users_values[(section, key)]
        if chosen:
            self._mark_dirty()
        return self._apply(section, updated, save=True)

    def replace_sections(self, settings: Settings) -> Settings:
        """Take whole sections from `settings` (a preset's look) in one change, saved later."""
        changed = False
        for section in SECTION_TYPES:
            updated = getattr(settings, section)
            if updated != getattr(self._settings, section):
                for key in [k for k in self._users_values if k[0] == section]:
                    del self._users_values[key]
                self._settings = dataclasses.replace(self._settings, **{section: updated})
                changed = True
        if changed:
            self._mark_dirty()
            self.changed.emit(self._settings)
        return self._settings

    def replace_for_this_run(self, section: str, **changes: Any) -> Settings:
        """Like `replace`, but the file keeps the user's values of these fields (a fallback)."""
        current = getattr(self._settings, section)
        updated = dataclasses.replace(current, **changes)
        for key in changes:
            self._users_values.setdefault((section, key), getattr(current, key))
        return self._apply(section, updated, save=False)

    def _apply(self, section: str, updated: Any, save: bool) -> Settings:
        if updated == getattr(self._settings, section):
            return self._settings
        self._settings = dataclasses.replace(self._settings, **{section: updated})
        if save:
            self._mark_dirty()
        self.changed.emit(self._settings)
        return self._settings

    def _mark_dirty(self) -> None:
        self._dirty = True
        self._save_timer.start()

    def flush(self) -> None:
        """Write pending changes now (also called by the timer and when the window closes)."""
        self._save_timer.stop()
        if not self._dirty:
            return
        self._dirty = False
        try:
            save_settings(self.saved_settings)
        except SettingsError as error:
            self.save_failed.emit(str(error))
