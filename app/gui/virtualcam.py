"""Turning the virtual camera on and off, and pausing it, with every view kept in step.

The panel, the menu and tray actions, the status bar and the preview caption all show the one
state the engine has; a device that cannot open shows this OS's fix, never an exception.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from app.gui.actions import WindowActions
from app.gui.engine import EngineBridge
from app.gui.status import StatusBar
from app.gui.store import SettingsStore
from app.gui.vcam_panel import VirtualCamPanel
from app.session import SessionError

PAUSED_CAPTION = "Paused: the virtual camera shows “Be right back”"


class VirtualCamControl:
    """What the virtual-camera toggle, pause and set-up do."""

    def __init__(
        self, engine: EngineBridge, store: SettingsStore, panel: VirtualCamPanel,
        commands: WindowActions, status: StatusBar, update_caption: Callable[[], None],
        show_error: Callable[[str], None],
    ) -> None:
        self._engine = engine
        self._store = store
        self._panel = panel
        self._commands = commands
        self._status = status
        self._update_caption = update_caption
        self._show_error = show_error
        engine.on_reattach(self.open)
        panel.setup_finished.connect(self._on_setup_finished)
        self.sync()

    def set_enabled(self, on: bool) -> None:
        """Turn the virtual camera on or off; the wish is remembered either way."""
        self._store.replace("output", virtualcam=on)
        if on:
            self.open()
        else:
            self._engine.disable_virtualcam()
            self._panel.show_off()
            self.sync()

    def open(self) -> None:
        """Start sending, or show why not and how to fix it (the preview is unaffected)."""
        try:
            sink = self._engine.enable_virtualcam(self._store.settings)
        except SessionError as error:
            self._panel.show_unavailable(str(error))
        else:
            self._panel.show_on(sink.device, sink.description)
        self.sync()

    def lost(self, message: str) -> None:
        """The pipeline dropped the device after a send failed."""
        self._panel.show_unavailable(message)
        self.sync()

    def set_paused(self, paused: bool) -> None:
        """Pause: the virtual camera gets a still 'Be right back' picture until resumed."""
        self._engine.set_paused(paused)
        self._panel.set_paused(paused)
        self._commands.set_checked(self._commands.pause, paused)
        self._update_caption()
        self.sync()

    def sync(self) -> None:
        """Make the actions and the status bar show the engine's state."""
        sink = self._engine.virtualcam
        self._commands.set_checked(self._commands.virtualcam, sink is not None)
        self._commands.pause.setEnabled(sink is not None or self._engine.paused)
        self._status.show_virtualcam(
            (sink.device or sink.description) if sink is not None else None, self._engine.paused
        )

    def _on_setup_finished(self, ok: bool, output: str) -> None:
        if ok:
            self._status.showMessage("The virtual camera is set up.", 10000)
            self.set_enabled(True)
        else:
            self._show_error("The virtual camera set-up did not finish: "
                             + html.escape(output or "it was cancelled"))
