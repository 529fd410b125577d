"""Turning the virtual camera on and off, pausing and releasing it, with every view in step.

The panel, the menu and tray actions, the status bar and the preview caption all show one
state: off, starting (the device opens off the GUI thread), live, or lost / unavailable while
the pipeline retries it; and whether the picture is sent. Off keeps an open device streaming
a "Camera off" card, so a meeting app keeps the camera (v4l2loopback lists it only while
someone sends); only Release, or quitting, closes it. A device that cannot open shows this
OS's fix, never an exception.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from app.devices.doctor import diagnose
from app.devices.findings import Finding, Machine
from app.devices.links import LIVE, LOST, NONE, UNAVAILABLE, first_line
from app.engine.stats import StatsSnapshot
from app.gui.actions import WindowActions
from app.gui.bridge import EngineBridge
from app.gui.status import StatusBar
from app.gui.store import SettingsStore
from app.gui.vcam_panel import VirtualCamPanel

PAUSED_CAPTION = "Paused: the virtual camera shows “Be right back”"
OFF = "off"
STARTING = "starting"


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
        self.state = OFF
        self.machine: Machine | None = None  # what the diagnosis looks at: this computer
        panel.diagnosis_factory = self._diagnosis
        engine.virtualcam_opened.connect(self._on_virtualcam_opened)
        engine.virtualcam_unavailable.connect(self._on_virtualcam_unavailable)
        panel.setup_finished.connect(self._on_setup_finished)
        panel.release_requested.connect(self.release)
        if store.settings.output.virtualcam:  # opened once the pipeline has started
            self._show_starting()
        else:
            self.sync()

    @property
    def sending(self) -> bool:
        """The user's wish: the picture goes to the virtual camera (else the "Camera off" card)."""
        return self._store.settings.output.virtualcam

    @property
    def holds_device(self) -> bool:
        """Backdrop has the device open, or is opening or retrying it."""
        return self.state != OFF

    def set_enabled(self, on: bool) -> None:
        """Send the picture, or stop: a device that opened stays open with a "Camera off"
        card, so meeting apps keep the camera; one still opening or missing is let go."""
        self._store.replace("output", virtualcam=on)
        if on:
            self.open()
        elif self.state in (LIVE, LOST):
            self._engine.set_sending(False)
            self._show_device()
        else:
            self.release()

    def open(self) -> None:
        """Start sending: the device opens on a helper (the panel says so meanwhile), or the
        open one gets the picture again."""
        self._engine.set_sending(self.sending)
        self._engine.enable_virtualcam(self._store.settings)
        if self._engine.virtualcam is None:
            self._show_starting()
        else:
            self._show_device()

    def release(self) -> None:
        """Close the device: meeting apps lose the camera, other programs may take it."""
        self._store.replace("output", virtualcam=False)
        self._engine.release_virtualcam()
        self.state = OFF
        self._panel.show_off()
        self.sync()

    def engine_started(self) -> None:
        """A (re)started pipeline has no device: open it if the user sends or Backdrop held it."""
        if self.sending or self.holds_device:
            self.open()

    def _on_virtualcam_opened(self, _device: str, _description: str) -> None:
        self.state = LIVE
        self._show_device()

    def _on_virtualcam_unavailable(self, message: str) -> None:
        """No device yet: this OS's fix, while the pipeline keeps trying."""
        self.state = UNAVAILABLE
        self._show_device(message)

    def show_link(self, snapshot: StatsSnapshot | None) -> None:
        """Follow the pipeline's word on the device: lost and retrying, or sending again."""
        sink = self._engine.virtualcam
        if sink is None or snapshot is None or snapshot.sink_state == NONE:
            return  # off, opening, or not yet taken up by the pipeline's worker
        link = snapshot.sink_state
        if link == LOST or (link != self.state and link in (LIVE, UNAVAILABLE)):
            self.state = link
            self._show_device(snapshot.sink_message)

    def _show_device(self, message: str = "") -> None:
        """The panel for the device's state; while not sending, the card and Release."""
        sink = self._engine.virtualcam
        device, description = (sink.device, sink.description) if sink else ("", "")
        if not self.sending:
            self._panel.show_held(device or description,
                                  first_line(message) if self.state != LIVE else "")
        elif self.state == LIVE:
            self._panel.show_on(device, description)
        elif self.state == LOST:
            self._panel.show_lost(message)
        elif self.state == UNAVAILABLE:
            self._panel.show_unavailable(message)
        self.sync()

    def _show_starting(self) -> None:
        self.state = STARTING
        if self.sending:
            self._panel.show_starting()
        else:
            self._panel.show_held("", "it is opening")
        self.sync()

    def set_paused(self, paused: bool) -> None:
        """Pause: the virtual camera gets a still 'Be right back' picture until resumed."""
        self._engine.set_paused(paused)
        self._panel.set_paused(paused)
        self._commands.set_checked(self._commands.pause, paused)
        self._update_caption()
        self.sync()

    def sync(self) -> None:
        """Make the actions and the status bar show the state."""
        on = self.sending and self.holds_device
        self._commands.set_checked(self._commands.virtualcam, on)
        self._commands.pause.setEnabled(on or self._engine.paused)
        self._commands.release_virtualcam.setEnabled(self.holds_device and not self.sending)
        sink = self._engine.virtualcam
        device = (sink.device or sink.description) if sink is not None else ""
        self._status.show_virtualcam(self.state, device, self._engine.paused, self.sending)

    def _diagnosis(self) -> Callable[[], list[Finding]]:
        """The check `backdrop doctor` makes, for the size and device the settings send to."""
        output, machine = self._store.settings.output, self.machine
        size = (output.width_px, output.height_px)
        return lambda: diagnose(machine, size, output.device)

    def _on_setup_finished(self, ok: bool, output: str) -> None:
        if ok:
            self._status.showMessage("The virtual camera is set up.", 10000)
            self._engine.release_virtualcam()  # try the new device now, not at the next retry
            self.set_enabled(True)
        else:
            self._show_error("The virtual camera set-up did not finish: "
                             + html.escape(output or "it was cancelled"))
