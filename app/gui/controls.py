"""The control sections of the side panel: source, effect and fine-tuning.

Each section shows the store's settings and writes changes straight back to it; the window
applies every change to the pipeline at once. Source changes are only requested here: the
window saves them once the new source has opened.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QWidget,
)

from app.devices.camera import CameraInfo, CameraMode
from app.gui.store import SettingsStore
from app.settings import Settings
from compositing.compositor import EFFECTS

FilePicker = Callable[[str, str], "str | None"]

SIZES_PX = ((640, 360), (1280, 720), (1920, 1080))
FRAME_RATES = (15, 30, 60)
_EFFECT_LABELS = {"color": "Colour"}
_EFFECT_SHORTCUTS = {"blur": "Ctrl+B"}
# (kind, label, shortcut) for each effect the compositor has, in its order.
EFFECT_CHOICES = tuple(
    (kind, _EFFECT_LABELS.get(kind, kind.capitalize()), _EFFECT_SHORTCUTS.get(kind, ""))
    for kind in EFFECTS
)
SWATCHES_RGB = ((40, 120, 80), (0, 177, 64), (32, 64, 128), (235, 235, 235), (40, 40, 40))
CUSTOM_CHOICE = "\0custom"  # the combo item that opens a file picker
_SIZE_TIP = "Capture size: what the camera is asked for (the meeting's is under Tuning)"
_GUESSED_SIZE_TIP = (f"{_SIZE_TIP}. Common sizes: this camera could not be asked which it has, "
                     "so it may send the nearest it has instead")
_MAX_FPS = 120


class PercentSlider(QWidget):
    """A 0-100 slider with its value shown beside it."""

    value_changed = Signal(int)

    def __init__(self, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setPageStep(10)
        self.slider.setToolTip(tooltip)
        self._value_label = QLabel("100")
        self._value_label.setMinimumWidth(self._value_label.sizeHint().width())
        self._value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self._value_label)
        self.slider.valueChanged.connect(self._on_value_changed)

    def set_value(self, value: int) -> None:
        """Show `value` without emitting `value_changed`."""
        self.slider.blockSignals(True)
        self.slider.setValue(value)
        self.slider.blockSignals(False)
        self._value_label.setText(str(value))

    def value(self) -> int:
        return self.slider.value()

    def _on_value_changed(self, value: int) -> None:
        self._value_label.setText(str(value))
        self.value_changed.emit(value)


def select_data(combo: QComboBox, data: object) -> bool:
    """Select the item whose data is `data`, without signals; False if there is none."""
    index = combo.findData(data)
    if index < 0:
        return False
    combo.blockSignals(True)
    combo.setCurrentIndex(index)
    combo.blockSignals(False)
    return True


class SourceSection(QGroupBox):
    """Camera picker plus resolution and frame rate; emits the wanted source settings.

    The cameras are listed by the window off the GUI thread and passed to `show_cameras`,
    with the sizes and rates each offers; the demo and video files offer the common ones.
    """

    source_requested = Signal(str, int, int, int)

    def __init__(self, store: SettingsStore, pick_file: FilePicker) -> None:
        super().__init__("Camera")
        self._store = store
        self._pick_file = pick_file
        self.source_combo = QComboBox()
        self.source_combo.setToolTip("Where the picture comes from")
        self.size_combo = QComboBox()
        self.fps_combo = QComboBox()
        self.fps_combo.setToolTip("Frames per second asked from the camera")
        self._modes_by_spec: dict[str, tuple[CameraMode, ...]] = {}
        self._fps_by_size: dict[tuple[int, int], tuple[int, ...]] = {}
        self._offers_camera_modes = False
        size_row = QHBoxLayout()
        size_row.addWidget(self.size_combo, 2)
        size_row.addWidget(self.fps_combo, 1)
        form = QFormLayout(self)
        form.addRow("Source", self.source_combo)
        form.addRow("Size", size_row)
        self.show_cameras([])
        self.source_combo.activated.connect(self._on_source_activated)
        self.size_combo.activated.connect(self._on_size_activated)
        self.fps_combo.activated.connect(self._on_fps_activated)

    def show_cameras(self, cameras: Sequence[CameraInfo]) -> None:
        """Offer Automatic, `cameras`, Demo and Video file…, and select the saved source."""
        self._modes_by_spec = _modes_by_spec(cameras)
        self.source_combo.clear()
        self.source_combo.addItem("Automatic (camera, else demo)", "auto")
        for camera in cameras:
            self.source_combo.addItem(camera.name or f"Camera {camera.index}",
                                      f"camera:{camera.index}")
        self.source_combo.addItem("Demo video", "demo")
        self.source_combo.addItem("Video file…", CUSTOM_CHOICE)
        self.show_settings(self._store.settings)

    def show_settings(self, settings: Settings) -> None:
        """Select what `settings` says (a file or device not listed is added)."""
        spec = settings.source.spec
        if not select_data(self.source_combo, spec):
            self.source_combo.insertItem(self.source_combo.count() - 1, _source_label(spec), spec)
            self.source_combo.setItemData(self.source_combo.count() - 2, spec,
                                          Qt.ItemDataRole.ToolTipRole)
            select_data(self.source_combo, spec)
        source = settings.source
        self._show_modes(spec, (source.width_px, source.height_px), source.fps)

    def _show_modes(self, spec: str, size: tuple[int, int], fps: int) -> None:
        """Offer the sizes of the camera `spec` opens (the common ones for the demo, files and
        cameras not yet asked) and select `size`, else the camera's nearest; then the rates."""
        modes = self._modes_by_spec.get(spec, ())
        self._offers_camera_modes = bool(modes)
        if modes:
            self._fps_by_size = {(mode.width_px, mode.height_px): _whole_fps(mode.fps_options)
                                 for mode in modes}
            size = _nearest_size(size, self._fps_by_size)
        else:  # the demo and files take any size: a saved one not listed is added
            self._fps_by_size = dict.fromkeys((*SIZES_PX, size), FRAME_RATES)
        guessed = any(mode.guessed for mode in modes)
        self.size_combo.setToolTip(_GUESSED_SIZE_TIP if guessed else _SIZE_TIP)
        self.size_combo.clear()
        for width_px, height_px in sorted(self._fps_by_size, key=lambda s: (s[0] * s[1], s[0])):
            self.size_combo.addItem(f"{width_px} × {height_px}", f"{width_px}x{height_px}")
        select_data(self.size_combo, f"{size[0]}x{size[1]}")
        self._show_rates(size, fps)

    def _show_rates(self, size: tuple[int, int], fps: int) -> None:
        """Offer the rates `size` has and select `fps`, else the camera's nearest."""
        rates = self._fps_by_size[size]
        if fps not in rates:
            if self._offers_camera_modes:
                fps = min(rates, key=lambda rate: (abs(rate - fps), -rate))
            else:
                rates = tuple(sorted((*rates, fps)))
        self.fps_combo.clear()
        for rate in rates:
            self.fps_combo.addItem(f"{rate} fps", rate)
        select_data(self.fps_combo, fps)

    def _on_source_activated(self, index: int) -> None:
        spec = self.source_combo.itemData(index)
        if spec == CUSTOM_CHOICE:
            spec = self._pick_file(
                "Choose a video file", "Videos (*.mp4 *.mov *.mkv *.webm *.avi *.m4v)"
            )
            if not spec:
                self.show_settings(self._store.settings)
                return
        self._show_modes(str(spec), self._chosen_size(), int(self.fps_combo.currentData()))
        self._request(str(spec))

    def _on_size_activated(self, _index: int) -> None:
        self._show_rates(self._chosen_size(), int(self.fps_combo.currentData()))
        self._request(self._store.settings.source.spec)

    def _on_fps_activated(self, _index: int) -> None:
        self._request(self._store.settings.source.spec)

    def _chosen_size(self) -> tuple[int, int]:
        width_px, height_px = (int(n) for n in str(self.size_combo.currentData()).split("x"))
        return width_px, height_px

    def _request(self, spec: str) -> None:
        width_px, height_px = self._chosen_size()
        self.source_requested.emit(spec, width_px, height_px, int(self.fps_combo.currentData()))


class EffectSection(QGroupBox):
    """None / Blur / Image / Colour / Video, the blur strength and the background colour."""

    effect_requested = Signal(str)

    def __init__(self, store: SettingsStore) -> None:
        super().__init__("Effect")
        self._store = store
        self.effect_buttons: dict[str, QPushButton] = {}
        self._group = QButtonGroup(self)
        row = QHBoxLayout()
        row.setSpacing(2)
        for kind, label, shortcut in EFFECT_CHOICES:
            button = QPushButton(label)
            button.setCheckable(True)
            button.setToolTip(f"{label} ({shortcut})" if shortcut else label)
            self._group.addButton(button)
            self.effect_buttons[kind] = button
            row.addWidget(button)
            button.clicked.connect(lambda _checked=False, k=kind: self.effect_requested.emit(k))
        self.blur_slider = PercentSlider("How strongly the background is blurred")
        self.blur_slider.value_changed.connect(lambda value: store.replace("effect", blur=value))
        self.light_wrap_slider = PercentSlider(
            "How much of the new background's light spills onto your edges"
        )
        self.light_wrap_slider.value_changed.connect(
            lambda value: store.replace("effect", light_wrap=value / 100.0)
        )
        form = QFormLayout(self)
        form.addRow(row)
        form.addRow("Blur", self.blur_slider)
        form.addRow("Colour", self._colour_row())
        form.addRow("Light wrap", self.light_wrap_slider)
        self.show_settings(store.settings)

    def _colour_row(self) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.swatches: list[QToolButton] = []
        self.swatches_rgb = SWATCHES_RGB
        for rgb in SWATCHES_RGB:
            swatch = QToolButton()
            swatch.setCheckable(True)
            swatch.setToolTip(f"Use the colour {_hex(rgb)}")
            swatch.setStyleSheet(_swatch_style(rgb))
            swatch.setFixedSize(26, 26)
            swatch.clicked.connect(lambda _checked=False, c=rgb: self.choose_colour(c))
            self.swatches.append(swatch)
            layout.addWidget(swatch)
        self.colour_button = QPushButton("Custom…")
        self.colour_button.setToolTip("Pick any colour for the background")
        self.colour_button.clicked.connect(self._on_custom_colour)
        layout.addWidget(self.colour_button)
        layout.addStretch(1)
        return row

    def show_settings(self, settings: Settings) -> None:
        effect = settings.effect
        self.effect_buttons[effect.kind].setChecked(True)
        self.blur_slider.set_value(effect.blur)
        self.blur_slider.setEnabled(effect.kind == "blur")
        self.light_wrap_slider.set_value(round(effect.light_wrap * 100))
        self.light_wrap_slider.setEnabled(effect.kind in ("image", "video", "color"))
        for swatch, rgb in zip(self.swatches, self.swatches_rgb, strict=True):
            swatch.setChecked(effect.kind == "color" and tuple(effect.color_rgb) == rgb)
        self.colour_button.setIcon(_colour_icon(effect.color_rgb))

    def choose_colour(self, rgb: tuple[int, int, int]) -> None:
        """Switch to the colour effect with `rgb` (0-255 red, green, blue)."""
        self._store.replace("effect", color_rgb=tuple(rgb))
        self.effect_requested.emit("color")

    def _on_custom_colour(self) -> None:
        red, green, blue = self._store.settings.effect.color_rgb
        colour = QColorDialog.getColor(QColor(red, green, blue), self, "Background colour")
        if colour.isValid():
            self.choose_colour((colour.red(), colour.green(), colour.blue()))


def _modes_by_spec(cameras: Sequence[CameraInfo]) -> dict[str, tuple[CameraMode, ...]]:
    """Each asked camera's modes under every spec that opens it (`auto` opens the first)."""
    found: dict[str, tuple[CameraMode, ...]] = {}
    for camera in cameras:
        if camera.modes:
            specs = (f"camera:{camera.index}", camera.path, "camera" if camera.index == 0 else "")
            found.update(dict.fromkeys(filter(None, specs), camera.modes))
    if cameras and cameras[0].modes:
        found["auto"] = cameras[0].modes
    return found


def _whole_fps(fps_options: Sequence[float]) -> tuple[int, ...]:
    """Rates as the settings keep them (29.97 is 30), each once, ascending."""
    return tuple(sorted({min(max(round(fps), 1), _MAX_FPS) for fps in fps_options}))


def _nearest_size(size: tuple[int, int], offered: Collection[tuple[int, int]]) -> tuple[int, int]:
    """`size` if offered, else the offered size closest in area, then in shape."""
    width_px, height_px = size

    def distance(candidate: tuple[int, int]) -> tuple[float, float]:
        area_ratio = (candidate[0] * candidate[1]) / (width_px * height_px)
        shape_ratio = (candidate[0] * height_px) / (width_px * candidate[1])
        return abs(math.log(area_ratio)), abs(math.log(shape_ratio))

    return size if size in offered else min(offered, key=distance)


def _source_label(spec: str) -> str:
    """A source not (yet) in the camera list: `camera:1` as "Camera 1", a file by its name."""
    prefix, _, index = spec.partition(":")
    if prefix == "camera" and index.isdigit():
        return f"Camera {index}"
    return Path(spec).name


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _swatch_style(rgb: tuple[int, int, int]) -> str:
    """A flat colour square; the border uses the palette's mid colour so it suits dark mode."""
    return (f"QToolButton {{ background: {_hex(rgb)}; border: 1px solid palette(mid); "
            "border-radius: 4px; } QToolButton:hover, QToolButton:checked "
            "{ border: 2px solid palette(highlight); }")


def _colour_icon(rgb: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)
