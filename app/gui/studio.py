"""The Studio section: the studio effects of issue 15, each live.

Each effect is one row, built in `__init__`, whose setting `show_settings` shows.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QMenu,
    QToolButton,
)

from app.gui.controls import PercentSlider
from app.gui.store import SettingsStore
from app.settings import Settings


class StudioSection(QGroupBox):
    """Auto-framing, only the main person, portrait blur, vignette, light, touch-up and denoise (the
    settings' `studio` section, and the blur's style in `effect`). `framing_adjusted` says the
    user just turned auto-framing on or changed its zoom (the window then shows the crop)."""

    framing_adjusted = Signal()

    def __init__(self, store: SettingsStore) -> None:
        super().__init__("Studio")
        self._form = QFormLayout(self)
        self.presets_button = QToolButton()
        self.presets_button.setText("Presets")
        self.presets_button.setToolTip("Switch to a saved look, or save this one (Ctrl+1 to "
                                       "Ctrl+9 switch too)")
        self.presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.presets_button.hide()  # until `offer_presets` gives it the menu
        self.framing_check = QCheckBox("Auto-framing: the picture follows you")
        self.framing_check.setToolTip("Keeps you centred with head room, zooming in at most "
                                      "as far as set beside it")
        self.framing_check.toggled.connect(
            lambda on: store.replace("studio", framing="auto" if on else "off")
        )
        self.framing_check.toggled.connect(self._on_framing_toggled)
        self.zoom_spin = QDoubleSpinBox()
        self.zoom_spin.setRange(1.0, 3.0)
        self.zoom_spin.setSingleStep(0.1)
        self.zoom_spin.setDecimals(1)
        self.zoom_spin.setSuffix("x")
        self.zoom_spin.setToolTip("The most auto-framing zooms in")
        self.zoom_spin.valueChanged.connect(
            lambda value: store.replace("studio", framing_zoom_max=round(value, 1))
        )
        self.zoom_spin.valueChanged.connect(lambda _value: self.framing_adjusted.emit())
        self.main_person_check = QCheckBox("Only the main person")
        self.main_person_check.setToolTip("People walking behind you become background; what "
                                          "you hold stays")
        self.main_person_check.toggled.connect(
            lambda on: store.replace("studio", main_person=on)
        )
        self.portrait_check = QCheckBox("Portrait blur: more blur further from you")
        self.portrait_check.setToolTip("As a phone's portrait mode; for the blur effect")
        self.portrait_check.toggled.connect(
            lambda on: store.replace("effect", blur_style="portrait" if on else "flat")
        )
        self.vignette_slider = self._strength_slider(
            store, "vignette", "Darken the corners, as a lens does (0 = off)")
        self.light_slider = self._strength_slider(
            store, "light", "Light a dim face towards a natural exposure, like a soft key light; "
            "the background stays (0 = off)")
        self.touch_up_slider = self._strength_slider(
            store, "touch_up", "Smooth the skin of your face and neck; eyes, lips, hair and the "
            "background stay sharp (0 = off)")
        self.denoise_slider = self._strength_slider(
            store, "denoise", "Average a grainy camera's noise away on you, without trails when "
            "you move (0 = off)")
        self._form.addRow(self.framing_check)
        self._form.addRow("Most zoom", self.zoom_spin)
        self._form.addRow(self.main_person_check)
        self._form.addRow(self.portrait_check)
        self._form.addRow("Vignette", self.vignette_slider)
        self._form.addRow("Light", self.light_slider)
        self._form.addRow("Touch-up", self.touch_up_slider)
        self._form.addRow("Denoise", self.denoise_slider)
        self.show_settings(store.settings)

    def offer_presets(self, presets: QMenu) -> None:
        """Offer the window's Presets menu (the same menu as the menu bar's) at the top."""
        self.presets_button.setMenu(presets)
        self._form.insertRow(0, "Look", self.presets_button)
        self.presets_button.show()

    @staticmethod
    def _strength_slider(store: SettingsStore, field: str, tip: str) -> PercentSlider:
        """A 0-100 slider for a studio effect's 0..1 strength `field`."""
        slider = PercentSlider(tip)
        slider.value_changed.connect(
            lambda value: store.replace("studio", **{field: value / 100.0}))
        return slider

    def _on_framing_toggled(self, on: bool) -> None:
        if on:
            self.framing_adjusted.emit()

    def show_settings(self, settings: Settings) -> None:
        studio = settings.studio
        for check, on in ((self.framing_check, studio.framing == "auto"),
                          (self.main_person_check, studio.main_person),
                          (self.portrait_check, settings.effect.blur_style == "portrait")):
            check.blockSignals(True)
            check.setChecked(on)
            check.blockSignals(False)
        self.zoom_spin.blockSignals(True)
        self.zoom_spin.setValue(studio.framing_zoom_max)
        self.zoom_spin.blockSignals(False)
        self.zoom_spin.setEnabled(studio.framing == "auto")
        self.portrait_check.setEnabled(settings.effect.kind == "blur")
        self.vignette_slider.set_value(round(studio.vignette * 100))
        self.light_slider.set_value(round(studio.light * 100))
        self.touch_up_slider.set_value(round(studio.touch_up * 100))
        self.denoise_slider.set_value(round(studio.denoise * 100))
