"""The Presets menu: each preset (Ctrl+1 to Ctrl+9), save the current look, delete your own.

The same menu is in the menu bar and the tray. A preset's item is checked while the picture
has exactly its look; any change after choosing it clears the check (the preset is unchanged
until you save it again under its name).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from app.gui.store import SettingsStore
from app.presets import (
    Preset,
    find_preset,
    load_presets,
    save_presets,
    with_preset,
    without_preset,
)
from app.settings import Settings, SettingsError

# Asks for a new preset's name (None: cancelled); tests replace it to skip the dialog.
NameAsker = Callable[[str], "str | None"]
_SHORTCUT_COUNT = 9


class PresetsMenu(QMenu):
    def __init__(self, store: SettingsStore, show_error: Callable[[str], None],
                 window: QWidget) -> None:
        super().__init__("&Presets", window)
        self._store, self._show_error, self._window = store, show_error, window
        self.ask_name: NameAsker = self._ask_name
        loaded = load_presets()
        self.presets: list[Preset] = loaded.presets
        for message in loaded.messages:
            show_error(message)
        self._group = QActionGroup(self)
        self._group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        self.preset_actions: dict[str, QAction] = {}
        # Owned by the window: `clear()` deletes the actions the menu itself owns.
        self.save_action = QAction("&Save the current look as a preset…", window)
        self.save_action.triggered.connect(lambda _checked=False: self.save_current())
        self._delete_menu = QMenu("&Delete a preset", window)
        self._rebuild()
        store.changed.connect(self.show_settings)

    def choose(self, name: str) -> None:
        preset = find_preset(self.presets, name)
        if preset is not None:
            self._store.replace_sections(preset.applied_to(self._store.settings))
        self.show_settings(self._store.settings)  # choosing the look in use keeps its check

    def save_current(self, name: str | None = None) -> None:
        """Save the current look under `name` (asked for when None); a name in use is replaced."""
        if name is None:
            name = self.ask_name(self._suggested_name())
        name = (name or "").strip()
        if not name:
            return
        self._save(with_preset(self.presets, Preset.of(name, self._store.settings)))

    def delete(self, name: str) -> None:
        self._save(without_preset(self.presets, name))

    def show_settings(self, settings: Settings) -> None:
        for preset in self.presets:
            action = self.preset_actions[preset.name]
            action.blockSignals(True)
            action.setChecked(preset.matches(settings))
            action.blockSignals(False)

    def _save(self, presets: list[Preset]) -> None:
        try:
            save_presets(presets)
        except SettingsError as error:
            self._show_error(str(error))
            return
        self.presets = presets
        self._rebuild()

    def _rebuild(self) -> None:
        for action in self.preset_actions.values():
            self._window.removeAction(action)
            self._group.removeAction(action)
        self.clear()
        self.preset_actions = {}
        for index, preset in enumerate(self.presets):
            action = QAction(preset.name, self)
            action.setCheckable(True)
            if index < _SHORTCUT_COUNT:
                action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.setToolTip(f"Switch to the look saved as “{preset.name}”")
            action.triggered.connect(lambda _checked=False, name=preset.name: self.choose(name))
            self._group.addAction(action)
            self._window.addAction(action)  # its shortcut works with the menu bar hidden
            self.addAction(action)
            self.preset_actions[preset.name] = action
        self.addSeparator()
        self.addAction(self.save_action)
        self._delete_menu.clear()
        mine = [preset for preset in self.presets if not preset.built_in]
        for preset in mine:
            self._delete_menu.addAction(preset.name).triggered.connect(
                lambda _checked=False, name=preset.name: self.delete(name))
        self._delete_menu.setEnabled(bool(mine))
        self.addMenu(self._delete_menu)
        self.show_settings(self._store.settings)

    def _suggested_name(self) -> str:
        taken = {preset.name for preset in self.presets}
        return next(f"My look {n}" for n in range(1, len(taken) + 2) if f"My look {n}" not in taken)

    def _ask_name(self, suggestion: str) -> str | None:
        name, ok = QInputDialog.getText(self._window, "Save as a preset",
                                        "Name of the preset (a name in use is replaced):",
                                        text=suggestion)
        return name if ok else None
