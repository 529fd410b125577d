"""The GUI's handle on the pipeline: frames and status come in through queued Qt signals.

The pipeline calls `on_frame` on its worker thread. This object stores only the newest frame
there and emits `frame_ready` at most once until the GUI has taken it, so a slow repaint drops
frames instead of queueing them. Anything slow (starting the pipeline, opening a source or the
virtual camera, listing cameras) runs on a thread this object owns and joins in `stop()`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, SignalInstance

from app.devices.camera import CameraInfo
from app.devices.camera_list import list_cameras
from app.devices.camera_modes import camera_modes
from app.devices.frames import FrameSource, SourceError
from app.devices.links import close_quietly
from app.devices.sinks import FrameSink, even_size, open_sink
from app.devices.sources import open_source
from app.engine.pipeline import Pipeline
from app.engine.session import SessionError, open_pipeline, open_virtualcam, with_default_background
from app.engine.stats import StatsSnapshot
from app.settings import Settings
from compositing.backgrounds import BackgroundError
from segmentation.models import ModelError

log = logging.getLogger(__name__)
# Closing the window waits at most this long for the pipeline and every helper together.
STOP_TIMEOUT_S = 2.0
# The pipeline's share of the time left: it holds the camera and the virtual camera.
_PIPELINE_SHARE = 0.75
_QUEUED = Qt.ConnectionType.QueuedConnection

_Device = Pipeline | FrameSource | FrameSink


@dataclasses.dataclass(frozen=True)
class PreviewFrame:
    """The newest preview frame (output, raw camera or split, as the mode says) and the stats."""

    frame_bgr: np.ndarray
    snapshot: StatsSnapshot


class EngineBridge(QObject):
    """Starts, reconfigures and stops one pipeline for the window; never blocks the GUI."""

    frame_ready = Signal()
    started = Signal(str)
    start_failed = Signal(str, str)
    source_switched = Signal(str)
    source_failed = Signal(str)
    cameras_listed = Signal(object)
    virtualcam_opened = Signal(str, str)
    virtualcam_unavailable = Signal(str)
    _source_opened = Signal(object, int)
    _pipeline_opened = Signal(object)
    _cameras_found = Signal(object, int)
    _virtualcam_attempted = Signal(object, bool, str, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pipeline: Pipeline | None = None
        self._settings: Settings | None = None
        self._raw_view = False
        self._framing_view = False
        self._split_view = False
        self._paused = False
        self._sending = True
        self._preview_visible = True
        self._newest: PreviewFrame | None = None
        self._signal_pending = False
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._source_token = 0
        self._cameras_token = 0
        self._messages_seen = 0
        self._closing = False
        self._unclaimed: list[_Device] = []
        self.virtualcam: FrameSink | None = None
        self._virtualcam_token = 0
        self._virtualcam_opening = False
        self._source_opened.connect(self._on_source_opened, _QUEUED)
        self._pipeline_opened.connect(self._on_pipeline_opened, _QUEUED)
        self._cameras_found.connect(self._on_cameras_found, _QUEUED)
        self._virtualcam_attempted.connect(self._on_virtualcam_attempted, _QUEUED)

    # --- starting and stopping --------------------------------------------------------------
    def start(self, settings: Settings) -> None:
        """Open the pipeline (preview only) on a helper thread; `started` or `start_failed`.

        `start_failed(message, cause)` names the cause: background, model, source or other.
        """
        self._settings = settings
        self._run_in_thread("backdrop-gui-start", self._open_pipeline, settings)

    def _open_pipeline(self, settings: Settings) -> None:
        try:
            pipeline = open_pipeline(
                with_default_background(settings), "null", on_frame=self._on_frame, paced=True,
                for_meeting=True,
            )
        except SessionError as error:
            self._deliver(self.start_failed, None, str(error), _cause(error))
            return
        if not self._deliver(self._pipeline_opened, pipeline, pipeline):
            pipeline.stop()

    def _deliver(self, signal: SignalInstance, device: _Device | None, *args: object) -> bool:
        """From a helper: record what it opened, so `stop` can close it even before the GUI
        thread takes it, and post `signal`; False (the caller closes it) once closing."""
        with self._lock:
            if self._closing:
                return False
            if device is not None:
                self._unclaimed.append(device)
            signal.emit(*args)  # queued: it only posts an event, under the lock `stop` takes,
            return True  # so it never races the window's deletion

    def _claim(self, device: _Device) -> bool:
        """Take a handed-over device on the GUI thread; False if `stop` already closed it."""
        with self._lock:
            if device not in self._unclaimed:
                return False
            self._unclaimed.remove(device)
            return True

    def _on_pipeline_opened(self, pipeline: Pipeline) -> None:
        if not self._claim(pipeline):
            return
        self.pipeline = pipeline
        if self._settings is not None:  # settings may have changed while it was starting
            pipeline.update_settings(with_default_background(self._settings))
        pipeline.set_paused(self._paused)
        pipeline.set_sending(self._sending)
        pipeline.set_preview_visible(self._preview_visible)
        pipeline.set_preview_mode(self.preview_mode)
        self.started.emit(pipeline.describe())

    def restart(self, settings: Settings) -> None:
        """Replace a pipeline that stopped (an error ended its worker) with a new one."""
        if self.pipeline is not None:
            self.pipeline.stop()  # its worker has ended; this releases what it still holds
            self.pipeline = None
        self._forget_virtualcam()
        self._messages_seen = 0
        self.start(settings)

    @property
    def failed(self) -> bool:
        """True when the pipeline's worker ended by an error (the preview has frozen)."""
        return self.pipeline is not None and self.pipeline.error is not None

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop the pipeline, close what helpers opened and join them, all within `timeout_s`.

        A helper stuck in a device call is left behind; it closes what it opens when it ends.
        """
        deadline_s = time.monotonic() + timeout_s
        with self._lock:
            self._closing = True
            unclaimed, self._unclaimed = self._unclaimed, []
        for device in unclaimed:  # opened by a helper, never taken by the GUI thread
            if isinstance(device, Pipeline):
                device.stop(_left_s(deadline_s) * _PIPELINE_SHARE)
            else:
                close_quietly(device)
        if self.pipeline is not None:
            # joins the worker; closes source, sink and MediaPipe
            self.pipeline.stop(_left_s(deadline_s) * _PIPELINE_SHARE)
            self.pipeline = None
        self.virtualcam = None
        for thread in self._threads:
            thread.join(_left_s(deadline_s))
        self._threads.clear()

    def _run_in_thread(self, name: str, target: Callable[..., None], *args: Any) -> None:
        if self._closing:
            return
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    # --- frames, on the pipeline's worker thread ---------------------------------------------
    def _on_frame(self, frame_bgr: np.ndarray, snapshot: StatsSnapshot) -> None:
        """Keep the newest frame; signal the GUI only when it has taken the previous one."""
        with self._lock:
            self._newest = PreviewFrame(frame_bgr, snapshot)
            if self._signal_pending or self._closing:
                return
            self._signal_pending = True
            self.frame_ready.emit()  # queued, under the lock, as in `_deliver`

    def take_frame(self) -> PreviewFrame | None:
        """The newest frame since the last call (GUI thread), or None."""
        with self._lock:
            frame, self._newest = self._newest, None
            self._signal_pending = False
        return frame

    # --- live changes ---------------------------------------------------------------------
    def update_settings(self, settings: Settings) -> None:
        """Apply settings now (source changes go through `switch_source`)."""
        self._settings = settings
        if self.pipeline is not None:
            self.pipeline.update_settings(with_default_background(settings))

    def set_preview(self, raw: bool, split: bool, framing: bool = False) -> None:
        """What the preview shows: the raw camera (while a key is held), the camera with the
        framing crop outlined (while it is adjusted), raw | output, or the output. Only the
        preview changes; the virtual camera always gets the output."""
        self._raw_view, self._split_view, self._framing_view = raw, split, framing
        if self.pipeline is not None:
            self.pipeline.set_preview_mode(self.preview_mode)

    @property
    def preview_mode(self) -> str:
        if self._raw_view:
            return "raw"
        return "framing" if self._framing_view else "split" if self._split_view else "output"

    def set_preview_visible(self, visible: bool) -> None:
        """The window is shown (or hidden in the tray, or minimised): with no app reading the
        virtual camera either, the pipeline idles."""
        self._preview_visible = visible
        if self.pipeline is not None:
            self.pipeline.set_preview_visible(visible)

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        if self.pipeline is not None:
            self.pipeline.set_paused(paused)

    @property
    def paused(self) -> bool:
        return self._paused

    def set_sending(self, sending: bool) -> None:
        """Off: the virtual camera stays open and gets a still "Camera off" card."""
        self._sending = sending
        if self.pipeline is not None:
            self.pipeline.set_sending(sending)

    def snapshot(self) -> StatsSnapshot | None:
        return self.pipeline.snapshot() if self.pipeline is not None else None

    def new_messages(self) -> list[str]:
        """Pipeline messages since the last call."""
        if self.pipeline is None:
            return []
        fresh, self._messages_seen = self.pipeline.messages.since(self._messages_seen)
        return fresh

    # --- sources ----------------------------------------------------------------------------
    def switch_source(self, settings: Settings) -> None:
        """Open the source of `settings` off the GUI thread, then switch to it at the next frame.

        `source_switched` or `source_failed` follows; the current source keeps running meanwhile.
        """
        self._source_token += 1
        self._run_in_thread(
            "backdrop-gui-source", self._open_source, settings, self._source_token
        )

    def _open_source(self, settings: Settings, token: int) -> None:
        source_settings = settings.source
        try:
            source = open_source(
                source_settings.spec, source_settings.width_px, source_settings.height_px,
                source_settings.fps,
            )
            source.open()
        except SourceError as error:
            self._deliver(self.source_failed, None, str(error))
            return
        if not self._deliver(self._source_opened, source, source, token):
            source.close()

    def _on_source_opened(self, source: FrameSource, token: int) -> None:
        if not self._claim(source):
            return
        if self._closing or token != self._source_token or self.pipeline is None:
            source.close()  # the user chose another source meanwhile, or the window closed
            return
        # The virtual camera keeps its size: the pipeline fits the new source's frames into it,
        # so a meeting app reading it never sees the device change format mid-call.
        size = even_size(source.width_px, source.height_px)
        self.pipeline.set_source(source)
        self.source_switched.emit(f"{source.name} at {size[0]}x{size[1]}")

    def list_cameras(self) -> None:
        """Look for cameras and ask each for its sizes and rates, on a helper (probing devices
        can take seconds); `cameras_listed` follows with a list of CameraInfo with `modes`."""
        self._cameras_token += 1
        self._run_in_thread("backdrop-gui-cameras", self._find_cameras, self._cameras_token)

    def _find_cameras(self, token: int) -> None:
        try:
            cameras = list_cameras()
        except Exception as error:  # noqa: BLE001 - a driver can fail in any way when probed
            log.warning("could not list the cameras: %s", error)
            cameras = []
        cameras = [_with_modes(camera) for camera in cameras]
        self._deliver(self._cameras_found, None, cameras, token)

    def _on_cameras_found(self, cameras: list[CameraInfo], token: int) -> None:
        if token == self._cameras_token and not self._closing:
            self.cameras_listed.emit(cameras)

    # --- virtual camera ---------------------------------------------------------------------
    def enable_virtualcam(self, settings: Settings) -> None:
        """Open the virtual camera at the output size on a helper, then send frames to it.

        `virtualcam_opened(device, description)` or `virtualcam_unavailable(fix)` follows; in
        both cases the pipeline retries the device with backoff whenever it is missing or
        fails, until `release_virtualcam`. What it gets (the picture or the "Camera off"
        card) is `set_sending`'s. Before the pipeline has started this does nothing
        (the window enables it on `started`).
        """
        if self.pipeline is None or self._virtualcam_active:
            return
        self._virtualcam_token += 1
        self._virtualcam_opening = True
        self._run_in_thread("backdrop-gui-virtualcam", self._open_virtualcam, settings,
                            self.pipeline.output_size, self.pipeline.output_fps,
                            self._virtualcam_token)

    def _open_virtualcam(
        self, settings: Settings, size: tuple[int, int], fps: int, token: int
    ) -> None:
        try:
            sink = open_virtualcam(settings, size[0], size[1], fps)
        except SessionError as error:
            output = settings.output
            spare = open_sink("virtualcam", output.backend or None, output.device or None)
            self._deliver(self._virtualcam_attempted, spare, spare, False, str(error), token)
            return
        if not self._deliver(self._virtualcam_attempted, sink, sink, True, "", token):
            sink.close()

    def _on_virtualcam_attempted(
        self, sink: FrameSink, opened: bool, message: str, token: int
    ) -> None:
        """Hand the device to the pipeline, opened or not: either way it retries it."""
        if not self._claim(sink):
            return
        if token != self._virtualcam_token or self.pipeline is None:
            close_quietly(sink)  # turned off, or the size changed, while it was opening
            return
        self._virtualcam_opening = False
        self.pipeline.set_sink(sink, retry=True, opened=opened)
        self.virtualcam = sink
        if opened:
            self.virtualcam_opened.emit(sink.device, sink.description)
        else:
            self.virtualcam_unavailable.emit(message)

    def release_virtualcam(self) -> None:
        """Close the virtual camera (the worker closes the device at the next frame): meeting
        apps lose it, and other programs may take the device."""
        if self.pipeline is not None and self.virtualcam is not None:
            self.pipeline.set_sink(None)
        self._forget_virtualcam()

    @property
    def _virtualcam_active(self) -> bool:
        return self.virtualcam is not None or self._virtualcam_opening

    def _forget_virtualcam(self) -> None:
        """No virtual camera any more; one still opening is closed when it arrives."""
        self.virtualcam = None
        self._virtualcam_opening = False
        self._virtualcam_token += 1


def _with_modes(camera: CameraInfo) -> CameraInfo:
    """`camera` with the sizes and rates it offers; without them if its driver misbehaves."""
    try:
        return dataclasses.replace(camera, modes=tuple(camera_modes(camera)))
    except Exception as error:  # noqa: BLE001 - a driver can fail in any way when probed
        log.warning("could not ask %s for its sizes: %s", camera.name, error)
        return camera


def _cause(error: SessionError) -> str:
    """What made the start fail: background, model, source or other (the window falls back)."""
    cause = error.__cause__
    if isinstance(cause, BackgroundError):
        return "background"
    if isinstance(cause, ModelError):
        return "model"
    if isinstance(cause, SourceError):
        return "source"
    return "other"


def _left_s(deadline_s: float) -> float:
    """Seconds until `deadline_s` (time.monotonic), never negative."""
    return max(deadline_s - time.monotonic(), 0.0)
