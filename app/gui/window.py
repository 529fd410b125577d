"""Backdrop's main window: the live preview on the left, the controls on the right.

The window drives one pipeline through `EngineBridge`; frames and status arrive through queued
signals, so no widget is ever touched from the pipeline's worker thread. Every control applies
at once and is saved shortly after; closing stops and joins every thread.
"""

from __future__ import annotations

import dataclasses
import html

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QHideEvent,
    QIcon,
    QPalette,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
)

from app.devices.camera import CameraInfo
from app.devices.links import first_line
from app.gui.actions import PRIVACY_URL, WindowActions, connect
from app.gui.banner import Banner
from app.gui.bridge import EngineBridge
from app.gui.controls import EffectSection, FilePicker, SourceSection
from app.gui.effects import IMAGE_FILTER, EffectChooser, current_background
from app.gui.gallery import BackgroundGallery
from app.gui.layout import column, geometry_text, restore_geometry, scrollable, side_by_side
from app.gui.presets import PresetsMenu
from app.gui.preview import PreviewWidget
from app.gui.space_key import SpaceToCompare
from app.gui.status import StatusBar
from app.gui.store import SettingsStore
from app.gui.studio import StudioSection
from app.gui.tray import TrayIcon
from app.gui.tuning import TuningSection
from app.gui.vcam_panel import VirtualCamPanel
from app.gui.virtualcam import PAUSED_CAPTION, VirtualCamControl
from app.settings import Settings
from segmentation.models import ModelError, resolve_model

PANEL_WIDTH_PX = 400
FRAMING_VIEW_MS = 2500  # how long the framing crop stays outlined after an adjustment
ABOUT_TEXT = ("<b>Backdrop</b><br>A better webcam background: blur or replace it, and send the "
              "result to a virtual camera for any meeting app.")
PRIVACY_NOTICE = (
    "Backdrop finds you in the picture with Google's MediaPipe, which runs on this computer. "
    "MediaPipe sends usage metrics to Google, as its own terms and privacy notice describe. "
    f'<a href="{PRIVACY_URL}">Read MediaPipe\'s terms</a>.'
)


class MainWindow(QMainWindow):
    """The window; `settings` comes from `load_settings`, `messages` are shown in a banner."""

    def __init__(
        self, settings: Settings, messages: list[str] | None = None, icon: QIcon | None = None,
        use_tray: bool | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Backdrop")
        if icon is not None:
            self.setWindowIcon(icon)
        self.setAcceptDrops(True)
        self.store = SettingsStore(settings, self)
        self.engine = EngineBridge(self)
        self.commands = WindowActions(self)
        self._quitting = False
        self._closed = False
        self._tray_told = False
        self._pending_source: tuple[str, int, int, int] | None = None
        self._restarting_with_pending = False  # the engine restarts with the pending source
        self._start_attempts = 0
        self._stopped_shown = False
        self._raw_view = False
        self.pick_file: FilePicker = self._ask_file  # tests replace it to skip the dialog
        self._framing_view = QTimer(self)  # running: the preview outlines the framing crop
        self._framing_view.setSingleShot(True)
        self._framing_view.setInterval(FRAMING_VIEW_MS)
        self._framing_view.timeout.connect(self._apply_preview_mode)
        self._build_ui()
        self.effects = EffectChooser(self.store, self.gallery, self.show_error, self)
        self.virtualcam = VirtualCamControl(self.engine, self.store, self.vcam_panel,
                                            self.commands, self.status, self._update_caption,
                                            self.show_error)
        self.presets = PresetsMenu(self.store, self.show_error, self)
        self.commands.build_menus(self.presets)
        self.studio_section.offer_presets(self.presets)
        self.tray = self._make_tray(icon, use_tray)
        self._connect()
        restore_geometry(self, settings.gui.geometry)
        self._show_settings(settings)
        if messages:
            self.show_error("<br>".join(html.escape(m) for m in messages))
        if not settings.gui.first_run_notice_shown:
            self.notice.show_message(PRIVACY_NOTICE, button="Got it")
            self.store.replace("gui", first_run_notice_shown=True)
        self._space_key = SpaceToCompare(self, self.preview, self.set_raw_view)
        _application().installEventFilter(self._space_key)
        self.engine.list_cameras()
        self.engine.start(settings)

    # --- layout -----------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.preview = PreviewWidget()
        self.notice = Banner()
        self.banner = Banner()
        self.source_section = SourceSection(self.store, self._pick)
        self.effect_section = EffectSection(self.store)
        self.gallery = BackgroundGallery()
        self.tuning_section = TuningSection(self.store, self._pick)
        self.studio_section = StudioSection(self.store)
        self.vcam_panel = VirtualCamPanel()
        left = column([self.notice, self.banner, self.preview, self._preview_bar()],
                      (8, 8, 4, 8), stretch_index=2)
        panel = column([self.vcam_panel, self.effect_section, self.gallery,
                        self.studio_section, self.source_section, self.tuning_section],
                       (4, 8, 8, 8))
        self.splitter = side_by_side(left, scrollable(panel, PANEL_WIDTH_PX))
        self.setCentralWidget(self.splitter)
        self.status = StatusBar()
        self.setStatusBar(self.status)

    def _preview_bar(self) -> QHBoxLayout:
        self.compare_button = QPushButton("Hold to see the original")
        self.compare_button.setToolTip("Shows the camera without the effect while held (Space)")
        self.compare_button.setAutoRepeat(False)
        self.compare_button.pressed.connect(lambda: self.set_raw_view(True))
        self.compare_button.released.connect(lambda: self.set_raw_view(False))
        self.source_label = QLabel()
        self.source_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        bar = QHBoxLayout()
        bar.addWidget(self.compare_button)
        bar.addStretch(1)
        bar.addWidget(self.source_label)
        return bar

    def _make_tray(self, icon: QIcon | None, use_tray: bool | None) -> TrayIcon | None:
        if use_tray is None:
            use_tray = TrayIcon.available()
        if not use_tray or icon is None:
            return None
        tray = TrayIcon(icon, self.commands.show_window, self.commands.tray_actions(),
                        [self.presets], self.commands.quit, self)
        tray.show()
        return tray

    def _connect(self) -> None:
        engine, actions = self.engine, self.commands
        engine.frame_ready.connect(self._on_frame_ready)
        engine.started.connect(self._on_engine_started)
        engine.start_failed.connect(self._on_engine_start_failed)
        engine.source_switched.connect(self._on_source_switched)
        engine.source_failed.connect(self._on_source_failed)
        engine.cameras_listed.connect(self._on_cameras_listed)
        self.store.changed.connect(self._on_settings_changed)
        self.store.save_failed.connect(self.show_error)
        self.source_section.source_requested.connect(self.request_source)
        self.effect_section.effect_requested.connect(self.set_effect)
        self.tuning_section.model_requested.connect(self.request_model)
        self.gallery.background_chosen.connect(self.effects.choose_background)
        self.gallery.add_requested.connect(self.ask_add_background)
        self.gallery.remove_requested.connect(self.effects.remove_background)
        self.vcam_panel.toggled.connect(self.set_virtualcam)
        self.vcam_panel.pause_toggled.connect(self.set_paused)
        self.studio_section.framing_adjusted.connect(self.show_framing_crop)
        connect(actions.add_background, self.ask_add_background)
        connect(actions.quit, self.quit)
        connect(actions.show_window, self.toggle_visible)
        connect(actions.effect_toggle, self.effects.toggle_effect)
        for kind, action in actions.effects.items():
            action.triggered.connect(lambda _checked=False, k=kind: self.set_effect(k))
        actions.virtualcam.triggered.connect(self.set_virtualcam)
        actions.pause.triggered.connect(self.set_paused)
        connect(actions.release_virtualcam, self.virtualcam.release)
        connect(actions.setup_virtualcam, self.vcam_panel.run_setup)
        connect(actions.refresh_cameras, self.engine.list_cameras)
        actions.split_view.triggered.connect(self._on_split_view)
        connect(actions.privacy, lambda: self.notice.show_message(PRIVACY_NOTICE, button="Got it"))
        connect(actions.about, self._show_about)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(500)
        self._status_timer.timeout.connect(self._on_status_timer)
        self._status_timer.start()

    # --- engine -----------------------------------------------------------------------------
    def _on_engine_started(self, description: str) -> None:
        self.source_label.setText(description.split(", sending to ")[0])
        if self._restarting_with_pending:  # a restart after an error, with a new source
            self._restarting_with_pending = False
            self._on_source_switched(self.source_label.text())
        self.virtualcam.engine_started()

    def _on_engine_start_failed(self, message: str, cause: str) -> None:
        """Say what failed and start again without it: blur, the bundled model, or the demo."""
        self._start_attempts += 1
        if self._restarting_with_pending:  # the new source did not start: keep the saved one
            self._restarting_with_pending = False
            self._forget_pending_source()
        fallback = self._fallback(cause) if self._start_attempts <= 3 else None
        if fallback is None:
            self.show_error(message)
            self.preview.set_placeholder("Backdrop could not start. See the message above.")
            return
        settings, note = fallback
        self.show_error(f"{message} {note}")
        self.engine.start(settings)

    def _fallback(self, cause: str) -> tuple[Settings, str] | None:
        """Settings without the part that failed, for this run only: the file keeps the user's
        choice (a background on a drive that is not mounted yet is used again next time)."""
        settings = self.store.settings
        if cause == "background":
            return self.store.replace_for_this_run("effect", kind="blur"), "Using blur instead."
        if cause == "model":
            return (self.store.replace_for_this_run("mask", model="auto"),
                    "Using the bundled model instead.")
        if settings.source.spec != "auto":
            # Never the demo: the virtual camera would send the demo person to the meeting.
            # 'auto' is the first camera, or a 'camera unavailable' card until one is there.
            camera = dataclasses.replace(settings.source, spec="auto")
            return dataclasses.replace(settings, source=camera), "Using your camera instead."
        return None

    def _on_frame_ready(self) -> None:
        frame = self.engine.take_frame()
        if frame is None or self._closed:
            return
        self.preview.show_frame(frame)

    def _on_status_timer(self) -> None:
        snapshot = self.engine.snapshot()
        self.status.show_stats(snapshot)
        if snapshot is not None and snapshot.state == "error" and not self._stopped_shown:
            self._stopped_shown = True
            self.show_error(f"The camera stopped: {html.escape(snapshot.message)} "
                            "Choose a source under Camera to start again.")
        for message in self.engine.new_messages():
            self.status.showMessage(first_line(message), 15000)  # the panel has the rest
        idle_message = snapshot.message if snapshot and snapshot.state == "idle" else ""
        if idle_message:
            self.status.showMessage(first_line(idle_message), 1000)
        if self.tray is not None:
            self.tray.setToolTip(f"Backdrop: {idle_message}" if idle_message else "Backdrop")
        self.virtualcam.show_link(snapshot)

    def _on_settings_changed(self, settings: Settings) -> None:
        self.engine.update_settings(settings)
        self._show_settings(settings)

    def _show_settings(self, settings: Settings) -> None:
        """Make every control, action and the gallery show `settings`."""
        self.effect_section.show_settings(settings)
        self.tuning_section.show_settings(settings)
        self.studio_section.show_settings(settings)
        kind = settings.effect.kind
        for effect_kind, action in self.commands.effects.items():
            self.commands.set_checked(action, effect_kind == kind)
        self.commands.set_checked(self.commands.effect_toggle, kind != "none")
        self.commands.set_checked(self.commands.split_view, settings.gui.split_view)
        self._apply_preview_mode()
        self.gallery.show_current(current_background(settings))
        self.preview.mirrored = settings.output.preview_flipped

    # --- sources and models -----------------------------------------------------------------
    def request_source(self, spec: str, width_px: int, height_px: int, fps: int) -> None:
        """Open another source (off the GUI thread); it is saved once it works."""
        self._pending_source = (spec, width_px, height_px, fps)
        source = dataclasses.replace(self.store.settings.source, spec=spec, width_px=width_px,
                                     height_px=height_px, fps=fps)
        self._update_caption()
        settings = dataclasses.replace(self.store.settings, source=source)
        if self.engine.failed:
            self._stopped_shown = False
            self._restarting_with_pending = True
            self.engine.restart(settings)
        else:
            self.engine.switch_source(settings)

    def _on_source_switched(self, description: str) -> None:
        self.source_label.setText(description)
        if self._pending_source is not None:
            spec, width_px, height_px, fps = self._pending_source
            self._pending_source = None
            self._update_caption()
            self.store.replace("source", spec=spec, width_px=width_px, height_px=height_px,
                               fps=fps)

    def _on_source_failed(self, message: str) -> None:
        self._forget_pending_source()
        self.show_error(f"{message} The previous source stays on.")

    def _forget_pending_source(self) -> None:
        """The requested source did not open: the controls show the one that runs again."""
        self._pending_source = None
        self._update_caption()
        self.source_section.show_settings(self.store.settings)

    def set_effect(self, kind: str) -> None:
        """Switch effect; when that is refused (no video yet), the controls show the old one."""
        if not self.effects.set_effect(kind):
            self._show_settings(self.store.settings)

    def request_model(self, choice: str) -> None:
        """Use another segmentation model if it can be loaded; otherwise say why."""
        source = self.store.settings.source
        try:
            resolve_model(choice, source.width_px, source.height_px)
        except ModelError as error:
            self.show_error(str(error))
            self.tuning_section.show_settings(self.store.settings)
            return
        self.store.replace("mask", model=choice)

    def _on_cameras_listed(self, cameras: list[CameraInfo]) -> None:
        self.source_section.show_cameras(cameras)

    # --- virtual camera and pause -----------------------------------------------------------
    def set_virtualcam(self, on: bool) -> None:
        """Send the picture to the virtual camera, or a "Camera off" card (the device stays
        open for meeting apps); the choice is remembered."""
        self.virtualcam.set_enabled(on)

    def set_paused(self, paused: bool) -> None:
        """Pause: the virtual camera gets a still 'Be right back' picture until resumed."""
        self.virtualcam.set_paused(paused)

    # --- backgrounds, files and drops -------------------------------------------------------
    def ask_add_background(self) -> None:
        path = self.pick_file("Add a background", IMAGE_FILTER)
        if path:
            self.effects.add_backgrounds([path])

    def _pick(self, title: str, file_filter: str) -> str | None:
        return self.pick_file(title, file_filter)

    def _ask_file(self, title: str, file_filter: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, title, "", file_filter)
        return path or None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.effects.add_backgrounds(paths)

    def show_error(self, message: str) -> None:
        """A warning banner above the preview (rich text; plain newlines become breaks)."""
        self.banner.show_message(message.replace("\n", "<br>"), warning=True)

    # --- raw view on Space (see space_key), split view --------------------------------------
    def set_raw_view(self, raw: bool) -> None:
        """The camera without the effect in the preview, while Space or the button is held.
        The virtual camera keeps sending the effect: the meeting never sees the room."""
        self._raw_view = raw
        self._apply_preview_mode()
        self._update_caption()

    def show_framing_crop(self) -> None:
        """Outline auto-framing's crop on the whole camera picture for a moment, while the
        user adjusts it (the preview then shows the output again)."""
        self._framing_view.start()
        self._apply_preview_mode()

    def _apply_preview_mode(self) -> None:
        split = self.store.settings.gui.split_view
        self.engine.set_preview(raw=self._raw_view, split=split,
                                framing=self._framing_view.isActive())
        self.preview.split_view = split and not self._raw_view

    def _update_caption(self) -> None:
        """The preview's caption: original view, a source switch, or pause, in that order."""
        caption = ""
        if self._raw_view:
            caption = "Original camera (only here: the virtual camera keeps the effect)"
        elif self._pending_source is not None:
            caption = "Switching source…"
        elif self.engine.paused:
            caption = PAUSED_CAPTION
        self.preview.set_caption(caption)

    def _on_split_view(self, on: bool) -> None:
        self.store.replace("gui", split_view=on)

    # --- showing, hiding, closing -----------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._follow_visibility()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt's name
        super().hideEvent(event)
        self._follow_visibility()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            self._follow_visibility()

    def _follow_visibility(self) -> None:
        """Nobody sees a hidden or minimised preview: the engine may idle."""
        self.engine.set_preview_visible(self.isVisible() and not self.isMinimized())

    def toggle_visible(self) -> None:
        if self.isVisible():
            self.hide()
        else:
            self.showNormal()
            self.raise_()
            self.activateWindow()

    def quit(self) -> None:
        """Stop everything and end the application (also from the tray)."""
        self._quitting = True
        self.close()
        QApplication.quit()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self._keep_running_in_tray():
            event.ignore()
            self.hide()
            return
        self.shutdown()
        event.accept()
        if self.tray is not None:  # the application does not quit by itself while in the tray
            QApplication.quit()

    def _keep_running_in_tray(self) -> bool:
        """With the virtual camera open (picture or card) and a tray, closing hides; the first
        time says so."""
        if self._quitting or self.tray is None or not self.virtualcam.holds_device:
            return False
        self._save_geometry()
        if not self._tray_told:
            self._tray_told = True
            self.tray.showMessage(
                "Backdrop is still running",
                "The virtual camera stays open for meeting apps. Use the tray icon to open "
                "Backdrop or quit.",
            )
        return True

    def shutdown(self) -> None:
        """Save, stop the pipeline and every helper thread, close the cameras (idempotent)."""
        if self._closed:
            return
        self._closed = True
        _application().removeEventFilter(self._space_key)
        self._status_timer.stop()
        self._save_geometry()
        self.store.flush()
        self.vcam_panel.stop_setup()
        self.vcam_panel.stop_diagnosis()
        self.effects.close()
        self.engine.stop()
        if self.tray is not None:
            self.tray.hide()

    def _save_geometry(self) -> None:
        self.store.replace("gui", geometry=geometry_text(self))

    def _show_about(self) -> None:
        QMessageBox.about(self, "About Backdrop", ABOUT_TEXT)


def _application() -> QApplication:
    app = QApplication.instance()
    assert isinstance(app, QApplication), "create the QApplication before the window"
    return app
