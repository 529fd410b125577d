"""The virtual-camera section: on/off, where frames go, pause, and the fix when there is none.

When no virtual camera can be opened the panel shows this OS's fix: on Linux a copyable
command and a "Set up…" button that runs the fixed set-up script (system modprobe and two
constant config files, never Backdrop's own user-writable code) as root through pkexec in a
QProcess; on Windows and macOS the OBS steps. The preview keeps running meanwhile,
and while the toggle is on Backdrop keeps retrying the device. Turning it off keeps an open
device open with a "Camera off" card, so meeting apps keep the camera; "Release" closes it.
"Diagnose" shows what `backdrop doctor` prints, checked on a helper thread.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import QProcess, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.devices.doctor import diagnose, report_lines
from app.devices.findings import FAIL, Finding
from app.devices.virtualcam_help import (
    Finder,
    linux_setup_script,
    require_system_binary,
    system_binary,
)
from app.devices.virtualcam_setup import shell_lines
from app.engine.cards import OFF_CAPTION
from app.jobs import JobThread

MEETING_HINT = "In Zoom, Meet or Teams, choose “Backdrop” as the camera."
LOST_TEXT = "Virtual camera lost — retrying…"
TOGGLE_TIP = (f"Send your picture to the virtual camera (Ctrl+K). Off, meeting apps keep the "
              f"camera and see a “{OFF_CAPTION}” card; Release closes the device.")
RELEASE_TIP = ("Close the virtual camera device: meeting apps lose the camera, and other "
               "programs (OBS's own Virtual Camera, a reload of v4l2loopback) can use it.")
DIAGNOSIS_POLL_MS = 100

Diagnosis = Callable[[], list[Finding]]


def setup_command(find: Finder = system_binary) -> list[str]:
    """The fixed set-up script, run by the system sh as root through pkexec (or sudo's askpass).

    Only system programs from root-owned directories: running Backdrop's own entry point as
    root would let anything running as the user, which can edit it, become root.
    """
    command = [require_system_binary("sh", find), "-c", linux_setup_script(find)]
    pkexec = find("pkexec")
    if pkexec is not None:
        return [pkexec, *command]
    sudo = find("sudo")
    if sudo is not None:
        return [sudo, "-A", *command]
    raise FileNotFoundError("neither pkexec nor sudo is installed")


def copyable_linux_commands() -> str:
    """The set-up as shell lines a user can paste into a terminal."""
    return "\n".join(shell_lines())


class VirtualCamPanel(QGroupBox):
    """Toggle, status line, pause button and (when needed) the fix for this OS."""

    toggled = Signal(bool)
    pause_toggled = Signal(bool)
    release_requested = Signal()
    setup_finished = Signal(bool, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Virtual camera", parent)
        self.toggle = QCheckBox("Send to the virtual camera")
        self.toggle.setToolTip(TOGGLE_TIP)
        self.toggle.toggled.connect(self.toggled.emit)
        self.release_button = QPushButton("Release")
        self.release_button.setToolTip(RELEASE_TIP)
        self.release_button.clicked.connect(self.release_requested.emit)
        self.release_button.hide()
        self.pause_button = QPushButton("Pause camera")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip(
            "Send a still, blurred “Be right back” picture until you resume (Ctrl+P)"
        )
        self.pause_button.toggled.connect(self._on_pause_toggled)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(self.toggle, 1)
        top.addWidget(self.pause_button)
        top.addWidget(self.release_button)
        top.addWidget(self._build_diagnose_button())
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status_label)
        layout.addWidget(self._build_fix_box())
        self._process: QProcess | None = None
        self.command_factory = setup_command
        self.show_off()

    def _build_diagnose_button(self) -> QPushButton:
        self.diagnose_button = QPushButton("Diagnose")
        self.diagnose_button.setToolTip("Check what is right and wrong with the virtual camera "
                                        "(what `backdrop doctor` prints)")
        self.diagnose_button.clicked.connect(self.run_diagnosis)
        # What to check, captured on the Qt thread; the window passes its output size and device.
        self.diagnosis_factory: Callable[[], Diagnosis] = lambda: diagnose
        self._diagnosis = JobThread[list[Finding]]("vcam-diagnosis")
        self._diagnosis_timer = QTimer(self)
        self._diagnosis_timer.setInterval(DIAGNOSIS_POLL_MS)
        self._diagnosis_timer.timeout.connect(self._on_diagnosis_timer_timeout)
        return self.diagnose_button

    def _build_fix_box(self) -> QWidget:
        self.fix_box = QWidget()
        layout = QVBoxLayout(self.fix_box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.fix_text = QPlainTextEdit()
        self.fix_text.setReadOnly(True)
        self.fix_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.fix_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.fix_text.setMinimumHeight(90)
        self.fix_text.setMaximumHeight(170)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy these commands to paste them into a terminal")
        self.copy_button.clicked.connect(self._on_copy_clicked)
        self.setup_button = QPushButton("Set up…")
        self.setup_button.setToolTip("Load v4l2loopback now and at every boot, as administrator "
                                     "(asks for your password)")
        self.setup_button.clicked.connect(self.run_setup)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.setup_button)
        buttons.addStretch(1)
        layout.addWidget(self.fix_text)
        layout.addLayout(buttons)
        self.fix_box.hide()
        return self.fix_box

    # --- states -----------------------------------------------------------------------------
    def show_on(self, device: str, description: str) -> None:
        """Sending: say where, and what to pick in the meeting app."""
        self._show(True, f"Sending to {device or description}. {MEETING_HINT}", description)

    def show_off(self) -> None:
        """No device: meeting apps do not list the virtual camera."""
        self._show(False, "Off: only this preview shows the result.")

    def show_held(self, device: str, problem: str = "") -> None:
        """Not sending, the device kept open: meeting apps see the card; Release closes it."""
        if problem:
            text = (f"Off. The “{OFF_CAPTION}” card cannot reach the virtual camera now "
                    f"({problem}); Backdrop keeps trying. Release stops that.")
        else:
            text = (f"Off: meeting apps keep the camera ({device}) and see a “{OFF_CAPTION}” "
                    "card. Turn this on to send your picture again, or Release the device.")
        self._show(False, text, problem, held=True)

    def show_starting(self) -> None:
        """The device is being opened (off the GUI thread)."""
        self._show(True, "Starting the virtual camera…")

    def show_lost(self, reason: str) -> None:
        """The device failed while sending; Backdrop reopens it by itself."""
        self._show(True, f"{LOST_TEXT} The preview keeps working.\n{reason}", reason)

    def show_unavailable(self, message: str) -> None:
        """No virtual camera: the reason and this OS's fix, while Backdrop keeps trying."""
        self._show(True, "No virtual camera is available yet, so meeting apps cannot see "
                         "Backdrop. It keeps trying while this is on, and the preview keeps "
                         "working. To add one:")
        linux = sys.platform.startswith("linux")
        self.fix_text.setPlainText(
            message + ("\n\nThe commands (Copy puts them on the clipboard):\n"
                       + copyable_linux_commands() if linux else "")
        )
        self.copy_button.setVisible(linux)
        self.setup_button.setVisible(linux)
        self.fix_box.show()

    def _show(self, on: bool, text: str, tooltip: str = "", held: bool = False) -> None:
        self._set_toggle(on)
        # Off, there is nothing to pause: Release takes the pause button's place, so the row
        # keeps its width and the panel fits the window.
        self.release_button.setVisible(held)
        self.pause_button.setVisible(not held)
        self.status_label.setText(text)
        self.status_label.setToolTip(tooltip)
        self.fix_box.hide()

    def _set_toggle(self, on: bool) -> None:
        self.toggle.blockSignals(True)
        self.toggle.setChecked(on)
        self.toggle.blockSignals(False)
        self.pause_button.setEnabled(on or self.pause_button.isChecked())

    def set_paused(self, paused: bool) -> None:
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume camera" if paused else "Pause camera")
        self.pause_button.blockSignals(False)

    def _on_pause_toggled(self, paused: bool) -> None:
        self.set_paused(paused)
        self.pause_toggled.emit(paused)

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(copyable_linux_commands())
        self.copy_button.setText("Copied")

    # --- diagnosis ----------------------------------------------------------------------------
    def run_diagnosis(self) -> None:
        """Check the virtual camera on a helper thread; the findings replace the fix text."""
        if self._diagnosis_timer.isActive():
            return
        self._diagnosis.submit(self.diagnosis_factory())
        self.diagnose_button.setEnabled(False)
        self.diagnose_button.setText("Diagnosing…")
        self._diagnosis_timer.start()

    def _on_diagnosis_timer_timeout(self) -> None:
        try:
            findings = self._diagnosis.take(0)
        except Exception as error:  # noqa: BLE001 - a failed check is shown, never raised
            findings = [Finding(FAIL, f"The check itself failed: {error}")]
        if findings is None:
            return
        self._diagnosis_timer.stop()
        self.diagnose_button.setEnabled(True)
        self.diagnose_button.setText("Diagnose")
        self.show_diagnosis(findings)

    def show_diagnosis(self, findings: list[Finding]) -> None:
        """The findings as `backdrop doctor` prints them; "Set up…" when the advice is set-up."""
        self.fix_text.setPlainText("\n".join(report_lines(findings)))
        self.copy_button.hide()
        wants_setup = any("setup-virtualcam" in finding.advice for finding in findings)
        self.setup_button.setVisible(sys.platform.startswith("linux") and wants_setup)
        self.fix_box.show()

    def stop_diagnosis(self) -> None:
        """Let a check in progress end and join its thread (the window is closing)."""
        self._diagnosis_timer.stop()
        self._diagnosis.close()

    # --- set-up process -------------------------------------------------------------------
    def run_setup(self) -> None:
        """Start the set-up command; `setup_finished(ok, output)` when it ends."""
        if self._process is not None:
            return
        try:
            command = self.command_factory()
        except FileNotFoundError as error:
            self.setup_finished.emit(False, f"Could not start the set-up ({error}). "
                                            "Copy the commands and run them in a terminal "
                                            "instead.")
            return
        self._process = QProcess(self)
        self._process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self._process.finished.connect(self._on_setup_finished)
        self._process.errorOccurred.connect(self._on_setup_error)
        self.setup_button.setEnabled(False)
        self.setup_button.setText("Setting up…")
        self._process.start(command[0], command[1:])

    def _on_setup_finished(self, exit_code: int, _status: QProcess.ExitStatus) -> None:
        assert self._process is not None
        output = bytes(self._process.readAll().data()).decode(errors="replace").strip()
        self._end_setup(exit_code == 0, output)

    def _on_setup_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._end_setup(False, "Could not start the set-up (is pkexec installed?). "
                                   "Copy the commands and run them in a terminal instead.")

    def _end_setup(self, ok: bool, output: str) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.deleteLater()
        self.setup_button.setEnabled(True)
        self.setup_button.setText("Set up…")
        self.setup_finished.emit(ok, output)

    def stop_setup(self) -> None:
        """Kill a running set-up (the window is closing) and wait for it briefly."""
        if self._process is not None:
            self._process.kill()
            self._process.waitForFinished(1000)
