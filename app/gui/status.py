"""The status bar: output fps, latency, dropped frames and the virtual camera's state."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.devices.links import LOST, UNAVAILABLE
from app.engine.cards import OFF_CAPTION
from app.engine.stats import StatsSnapshot


class StatusBar(QStatusBar):
    """Permanent figures on the right; pipeline messages come and go on the left."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fps_label = QLabel("– fps")
        self.fps_label.setToolTip("Frames per second Backdrop sends out")
        self.latency_label = QLabel("latency –")
        self.latency_label.setToolTip("Time from capture to output (median of recent frames)")
        self.dropped_label = QLabel("dropped 0")
        self.dropped_label.setToolTip("Frames skipped so the picture never lags behind")
        self.virtualcam_label = QLabel("Virtual camera off")
        for label in (self.fps_label, self.latency_label, self.dropped_label,
                      self.virtualcam_label):
            label.setContentsMargins(8, 0, 8, 0)
            self.addPermanentWidget(label)

    def show_stats(self, snapshot: StatsSnapshot | None) -> None:
        if snapshot is None:
            return
        self.fps_label.setText(f"{snapshot.output_fps:.0f} fps")
        self.latency_label.setText(f"latency {snapshot.latency_ms_p50:.0f} ms")
        self.dropped_label.setText(f"dropped {snapshot.dropped_frames}")
        if snapshot.state == "error" and snapshot.message:
            self.showMessage(f"Stopped: {snapshot.message}")

    def show_virtualcam(self, state: str, device: str = "", paused: bool = False,
                        sending: bool = True) -> None:
        """`state`: off, starting, live (sending to `device`), lost or unavailable (retrying);
        not `sending`, an open device shows the "Camera off" card."""
        if state == "off":
            text = "Virtual camera off"
        elif state == "starting":
            text = "Virtual camera starting…"
        elif state == LOST:
            text = "Virtual camera lost — retrying…"
        elif state == UNAVAILABLE:
            text = "No virtual camera yet — retrying…"
        elif not sending:
            text = f"Virtual camera off: “{OFF_CAPTION}” card on {device}"
        elif paused:
            text = f"Virtual camera paused ({device})"
        else:
            text = f"Virtual camera on: {device}"
        self.virtualcam_label.setText(text)
