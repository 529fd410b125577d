"""The window's actions: one QAction per command, shared by menus, tray and shortcuts.

Shortcuts are shown in the menus (Qt does that) and in each action's tooltip.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from app.engine.cards import OFF_CAPTION
from app.gui.controls import EFFECT_CHOICES

PRIVACY_URL = "https://ai.google.dev/edge/mediapipe/legal/tos"


class WindowActions:
    """Creates the actions on `window`; the window connects them to its slots."""

    def __init__(self, window: QMainWindow) -> None:
        self._window = window
        self.add_background = self._make("&Add background…", "Ctrl+O",
                                         "Add your own image or video background")
        self.quit = self._make("&Quit Backdrop", "Ctrl+Q",
                               "Stop the camera and the virtual camera, and quit")
        self.show_window = self._make("&Show window", "", "Show or hide the Backdrop window")
        self.effect_toggle = self._make("Effect &on", "Ctrl+E",
                                        "Turn the effect off, or back on", checkable=True)
        self.effects: dict[str, QAction] = {}
        self._effect_group = QActionGroup(window)
        for kind, label, shortcut in EFFECT_CHOICES:
            action = self._make(label, shortcut, f"{label} background", checkable=True)
            self._effect_group.addAction(action)
            self.effects[kind] = action
        self.virtualcam = self._make("&Virtual camera", "Ctrl+K",
                                     "Send the result to the virtual camera (off: meeting apps "
                                     f"see a “{OFF_CAPTION}” card)", checkable=True)
        self.pause = self._make("&Pause camera", "Ctrl+P",
                                "Send a still “Be right back” picture until resumed",
                                checkable=True)
        self.release_virtualcam = self._make(
            "&Release the virtual camera", "",
            "Close the virtual camera device, so other programs can use it")
        self.setup_virtualcam = self._make("Set up the virtual camera…", "",
                                           "Install the virtual camera for this system")
        self.refresh_cameras = self._make("&Refresh camera list", "F5",
                                          "Look for cameras plugged in since Backdrop started")
        self.split_view = self._make("&Split view", "Ctrl+D",
                                     "Original on the left, Backdrop on the right",
                                     checkable=True)
        self.privacy = self._make("MediaPipe &privacy notice", "",
                                  "What MediaPipe sends to Google")
        self.about = self._make("&About Backdrop", "", "Version and licence")

    def _make(self, text: str, shortcut: str, tip: str, checkable: bool = False) -> QAction:
        action = QAction(text, self._window)
        action.setCheckable(checkable)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            native = QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)
            tip = f"{tip} ({native})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        self._window.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def build_menus(self, presets: QMenu) -> None:
        """File, Effect, Presets, Camera, View and Help menus."""
        bar = self._window.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.add_background)
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        effect_menu = bar.addMenu("&Effect")
        effect_menu.addAction(self.effect_toggle)
        effect_menu.addSeparator()
        for action in self.effects.values():
            effect_menu.addAction(action)
        bar.addMenu(presets)
        camera_menu = bar.addMenu("&Camera")
        camera_menu.addAction(self.virtualcam)
        camera_menu.addAction(self.pause)
        camera_menu.addAction(self.release_virtualcam)
        camera_menu.addSeparator()
        camera_menu.addAction(self.setup_virtualcam)
        camera_menu.addAction(self.refresh_cameras)
        view_menu = bar.addMenu("&View")
        hold = view_menu.addAction("Hold Space to see the original camera")
        hold.setEnabled(False)  # a hint: holding a key cannot be a menu command
        view_menu.addAction(self.split_view)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.privacy)
        help_menu.addAction(self.about)

    def tray_actions(self) -> list[QAction]:
        return [self.effect_toggle, self.virtualcam, self.pause]

    @staticmethod
    def set_checked(action: QAction, checked: bool) -> None:
        """Show a state without triggering the action's slots."""
        action.blockSignals(True)
        action.setChecked(checked)
        action.blockSignals(False)


def connect(action: QAction, slot: Callable[[], object]) -> None:
    """Connect `triggered` ignoring its `checked` argument."""
    action.triggered.connect(lambda _checked=False: slot())
