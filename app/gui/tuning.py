"""The Tuning section: edge softness, smoothing, refinement, model, mirroring, and the
picture the meeting gets (its size for the session, and how other sizes fit into it)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QWidget,
)

from app.gui.controls import CUSTOM_CHOICE, SIZES_PX, FilePicker, PercentSlider, select_data
from app.gui.store import SettingsStore
from app.settings import Settings
from compositing.fit import FITS
from segmentation.refine import REFINEMENTS

MODELS = (("auto", "Automatic"), ("general", "General (square)"), ("landscape", "Landscape (fast)"))


class TuningSection(QGroupBox):
    """Edge softness, smoothing, refinement, model and mirror."""

    model_requested = Signal(str)

    def __init__(self, store: SettingsStore, pick_file: FilePicker) -> None:
        super().__init__("Fine-tuning")
        self._store = store
        self._pick_file = pick_file
        self.edge_slider = PercentSlider("Wider soft edge around you (higher hides jagged hair)")
        self.edge_slider.value_changed.connect(
            lambda value: store.replace("mask", edge_softness=value / 100.0)
        )
        self.smoothing_slider = PercentSlider(
            "Steadier edges over time (higher reduces flicker but follows movement later)"
        )
        self.smoothing_slider.value_changed.connect(
            lambda value: store.replace("mask", smoothing=value / 100.0)
        )
        self.refinement_combo = QComboBox()
        self.refinement_combo.setToolTip("Edge-aware refinement: best follows hair more closely "
                                         "and costs more CPU")
        for value in REFINEMENTS:
            self.refinement_combo.addItem(value.capitalize(), value)
        self.refinement_combo.activated.connect(
            lambda index: store.replace("mask", refinement=self.refinement_combo.itemData(index))
        )
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The segmentation model; Automatic picks by frame shape")
        for value, label in MODELS:
            self.model_combo.addItem(label, value)
        self.model_combo.addItem("Custom file…", CUSTOM_CHOICE)
        self.model_combo.activated.connect(self._on_model_activated)
        self.mirror_check = QCheckBox("Mirror the preview (like a mirror, as most apps show you)")
        self.mirror_check.setToolTip("Only your own view: the meeting sees you the right way "
                                     "round, so text you hold up reads correctly")
        self.mirror_check.toggled.connect(lambda on: store.replace("output", mirror=on))
        self.mirror_output_check = QCheckBox("Mirror what the meeting sees too")
        self.mirror_output_check.setToolTip("Sends a mirrored picture: text you hold up reads "
                                            "backwards to everyone else")
        self.mirror_output_check.toggled.connect(
            lambda on: store.replace("output", mirror_output=on)
        )
        form = QFormLayout(self)
        form.addRow("Edge softness", self.edge_slider)
        form.addRow("Smoothing", self.smoothing_slider)
        form.addRow("Refinement", self.refinement_combo)
        form.addRow("Model", self.model_combo)
        form.addRow(self.mirror_check)
        form.addRow(self.mirror_output_check)
        form.addRow("Meeting picture", self._build_output_row(store))
        self.show_settings(store.settings)

    def _build_output_row(self, store: SettingsStore) -> QWidget:
        """The size the virtual camera sends all session, and how other sizes fit into it."""
        self.output_size_combo = QComboBox()
        self.output_size_combo.setToolTip(
            "What your meeting app receives, whatever the camera's size. Changing it makes "
            "the meeting app see a new camera format: change it before the call."
        )
        for width_px, height_px in SIZES_PX:
            self.output_size_combo.addItem(f"{width_px}x{height_px}", f"{width_px}x{height_px}")
        self.output_size_combo.activated.connect(
            lambda index: store.replace(
                "output", **_size_fields(self.output_size_combo.itemData(index))
            )
        )
        self.fit_combo = QComboBox()
        self.fit_combo.setToolTip("A camera of another shape: letterbox shows all of it with "
                                  "bars; cover fills the picture and crops the overhang")
        for fit in FITS:
            self.fit_combo.addItem(fit.capitalize(), fit)
        self.fit_combo.activated.connect(
            lambda index: store.replace("output", fit=self.fit_combo.itemData(index))
        )
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.output_size_combo)
        layout.addWidget(self.fit_combo)
        return row

    def show_settings(self, settings: Settings) -> None:
        mask = settings.mask
        self.edge_slider.set_value(round(mask.edge_softness * 100))
        self.smoothing_slider.set_value(round(mask.smoothing * 100))
        select_data(self.refinement_combo, mask.refinement)
        if not select_data(self.model_combo, mask.model):
            self.model_combo.insertItem(self.model_combo.count() - 1, Path(mask.model).name,
                                        mask.model)
            select_data(self.model_combo, mask.model)
        output = settings.output
        size = f"{output.width_px}x{output.height_px}"  # Qt item data: text, not tuples
        if not select_data(self.output_size_combo, size):
            self.output_size_combo.addItem(size, size)
            select_data(self.output_size_combo, size)
        select_data(self.fit_combo, output.fit)
        for check, on in ((self.mirror_check, settings.output.mirror),
                          (self.mirror_output_check, settings.output.mirror_output)):
            check.blockSignals(True)
            check.setChecked(on)
            check.blockSignals(False)

    def _on_model_activated(self, index: int) -> None:
        choice = self.model_combo.itemData(index)
        if choice == CUSTOM_CHOICE:
            choice = self._pick_file("Choose a segmentation model", "TFLite models (*.tflite)")
            if not choice:
                self.show_settings(self._store.settings)
                return
        self.model_requested.emit(str(choice))


def _size_fields(text: str) -> dict[str, int]:
    """'1280x720' -> {'width_px': 1280, 'height_px': 720}."""
    width_text, height_text = text.split("x")
    return {"width_px": int(width_text), "height_px": int(height_text)}
