"""The Studio section: the studio effects of issue 15, each live.

Each effect is one row; a new effect (light, touch-up) adds its row in `_build_rows` and
shows its setting in `show_settings`.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox

from app.gui.controls import PercentSlider
from app.gui.store import SettingsStore
from app.settings import Settings


class StudioSection(QGroupBox):
    """Only the main person and vignette; the settings' `studio` section."""

    def __init__(self, store: SettingsStore) -> None:
        super().__init__("Studio")
        self._form = QFormLayout(self)
        self.main_person_check = QCheckBox("Only the main person")
        self.main_person_check.setToolTip("People walking behind you become background; what "
                                          "you hold stays")
        self.main_person_check.toggled.connect(
            lambda on: store.replace("studio", main_person=on)
        )
        self.vignette_slider = PercentSlider("Darken the corners, as a lens does (0 = off)")
        self.vignette_slider.value_changed.connect(
            lambda value: store.replace("studio", vignette=value / 100.0)
        )
        self._form.addRow(self.main_person_check)
        self._form.addRow("Vignette", self.vignette_slider)
        self.show_settings(store.settings)

    def show_settings(self, settings: Settings) -> None:
        studio = settings.studio
        self.main_person_check.blockSignals(True)
        self.main_person_check.setChecked(studio.main_person)
        self.main_person_check.blockSignals(False)
        self.vignette_slider.set_value(round(studio.vignette * 100))
