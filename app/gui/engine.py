"""The GUI's handle on the pipeline: frames and status come in through queued Qt signals.

The pipeline calls `on_frame` on its worker thread. This object stores only the newest frame
there and emits `frame_ready` at most once until the GUI has taken it, so a slow repaint drops
frames instead of queueing them. Anything slow (starting the pipeline, opening a source) runs on
a thread this object owns and joins in `stop()`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.pipeline import Pipeline
from app.session import SessionError, open_pipeline, open_virtualcam, with_default_background
from app.settings import Settings
from app.sinks import FrameSink
from app.sources import FrameSource, SourceError, open_source
from app.stats import StatsSnapshot
from compositing.backgrounds import BackgroundError
from segmentation.models import ModelError

log = logging.getLogger(__name__)
_JOIN_TIMEOUT_S = 1.5


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
    _source_opened = Signal(object, int)
    _pipeline_opened = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pipeline: Pipeline | None = None
        self._settings: Settings | None = None
        self._raw_view = False
        self._split_view = False
        self._paused = False
        self._newest: PreviewFrame | None = None
        self._signal_pending = False
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._source_token = 0
        self._messages_seen = 0
        self._closing = False
        self._unclaimed: list[Pipeline | FrameSource] = []
        self.virtualcam: FrameSink | None = None
        self._virtualcam_size: tuple[int, int] | None = None
        self._virtualcam_description = ""
        self._reattach_size: tuple[int, int] | None = None
        self._reattach: Callable[[], None] | None = None
        self._source_opened.connect(self._on_source_opened)
        self._pipeline_opened.connect(self._on_pipeline_opened)

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
                with_default_background(settings), "null", on_frame=self._on_frame, paced=True
            )
        except SessionError as error:
            self.start_failed.emit(str(error), _cause(error))
            return
        if not self._hand_over(pipeline):
            pipeline.stop()
            return
        self._pipeline_opened.emit(pipeline)

    def _hand_over(self, device: Pipeline | FrameSource) -> bool:
        """Record a pipeline or source a helper opened, so `stop` can close it even before the
        GUI thread has taken it; False (the caller closes it) when the window is closing."""
        with self._lock:
            if self._closing:
                return False
            self._unclaimed.append(device)
            return True

    def _claim(self, device: Pipeline | FrameSource) -> bool:
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
        pipeline.set_preview_mode(self.preview_mode)
        self.started.emit(pipeline.describe())

    def restart(self, settings: Settings) -> None:
        """Replace a pipeline that stopped (an error ended its worker) with a new one."""
        if self.pipeline is not None:
            self.pipeline.stop()  # its worker has ended; this releases what it still holds
            self.pipeline = None
        self.virtualcam = None
        self._messages_seen = 0
        self.start(settings)

    @property
    def failed(self) -> bool:
        """True when the pipeline's worker ended by an error (the preview has frozen)."""
        return self.pipeline is not None and self.pipeline.error is not None

    def stop(self) -> None:
        """Stop the pipeline, close the virtual camera and join every helper thread."""
        with self._lock:
            self._closing = True
        for thread in self._threads:
            thread.join(_JOIN_TIMEOUT_S)
        self._threads.clear()
        with self._lock:
            unclaimed, self._unclaimed = self._unclaimed, []
        for device in unclaimed:  # opened by a helper, never taken by the GUI thread
            if isinstance(device, Pipeline):
                device.stop()
            else:
                device.close()
        if self.pipeline is not None:
            self.pipeline.stop()  # joins the worker; closes source, sink and MediaPipe
            self.pipeline = None
        elif self.virtualcam is not None:
            self.virtualcam.close()
        self.virtualcam = None

    def _run_in_thread(self, name: str, target: Callable[..., None], *args: Any) -> None:
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
            self.frame_ready.emit()  # queued: it only posts an event, under the lock that
            # `stop` takes, so it never races the window's deletion

    def take_frame(self) -> PreviewFrame | None:
        """The newest frame since the last call (GUI thread), or None."""
        with self._lock:
            frame, self._newest = self._newest, None
            self._signal_pending = False
        if frame is not None and self._reattach_size is not None:
            self._reattach_if_ready(frame.frame_bgr)
        return frame

    # --- live changes ---------------------------------------------------------------------
    def update_settings(self, settings: Settings) -> None:
        """Apply settings now (source changes go through `switch_source`)."""
        self._settings = settings
        if self.pipeline is not None:
            self.pipeline.update_settings(with_default_background(settings))

    def set_preview(self, raw: bool, split: bool) -> None:
        """What the preview shows: the raw camera (while a key is held), raw | output, or the
        output. Only the preview changes; the virtual camera always gets the output."""
        self._raw_view, self._split_view = raw, split
        if self.pipeline is not None:
            self.pipeline.set_preview_mode(self.preview_mode)

    @property
    def preview_mode(self) -> str:
        return "raw" if self._raw_view else "split" if self._split_view else "output"

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        if self.pipeline is not None:
            self.pipeline.set_paused(paused)

    @property
    def paused(self) -> bool:
        return self._paused

    def snapshot(self) -> StatsSnapshot | None:
        return self.pipeline.snapshot() if self.pipeline is not None else None

    def messages(self) -> list[str]:
        return list(self.pipeline.messages) if self.pipeline is not None else []

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
            self.source_failed.emit(str(error))
            return
        if not self._hand_over(source):
            source.close()
            return
        self._source_opened.emit(source, token)

    def _on_source_opened(self, source: FrameSource, token: int) -> None:
        if not self._claim(source):
            return
        if self._closing or token != self._source_token or self.pipeline is None:
            source.close()  # the user chose another source meanwhile, or the window closed
            return
        size = _even(source.width_px, source.height_px)
        if self.virtualcam is not None and size != self._virtualcam_size:
            self.pipeline.set_sink(None)  # applied with the new source; reopened at the new size
            self.virtualcam = None
            self._reattach_size = size
        self.pipeline.set_source(source)
        self.source_switched.emit(f"{source.name} at {size[0]}x{size[1]}")

    # --- virtual camera ---------------------------------------------------------------------
    def enable_virtualcam(self, settings: Settings) -> FrameSink:
        """Open the virtual camera at the output size and send frames to it.

        Raises SessionError whose message is this OS's fix; the preview is unaffected.
        """
        if self.pipeline is None:
            raise SessionError("Backdrop is still starting; try again in a moment.")
        if self.virtualcam is not None:
            return self.virtualcam
        width_px, height_px = self.pipeline.output_size
        fps = max(1, round(settings.source.fps))
        sink = open_virtualcam(settings, width_px, height_px, fps)
        self.pipeline.set_sink(sink)
        self.virtualcam = sink
        self._virtualcam_size = (width_px, height_px)
        self._virtualcam_description = sink.description  # what the pipeline names it by
        return sink

    def disable_virtualcam(self) -> None:
        """Stop sending (the worker closes the device at the next frame)."""
        self._reattach_size = None
        if self.pipeline is not None and self.virtualcam is not None:
            self.pipeline.set_sink(None)
        self.virtualcam = None

    def on_reattach(self, callback: Callable[[], None]) -> None:
        """Called (GUI thread) when the virtual camera must be reopened at a new size."""
        self._reattach = callback

    def _reattach_if_ready(self, frame_bgr: np.ndarray) -> None:
        height_px, width_px = frame_bgr.shape[:2]
        if (width_px, height_px) == self._reattach_size:
            self._reattach_size = None
            if self._reattach is not None:
                self._reattach()

    def new_messages(self) -> tuple[list[str], str | None]:
        """Pipeline messages since the last call, and the one saying the virtual camera failed.

        The pipeline drops a sink whose send fails and says so; the window then shows it off.
        """
        messages = self.messages()[self._messages_seen:]
        self._messages_seen += len(messages)
        lost = None
        if self.virtualcam is not None:
            prefix = f"{self._virtualcam_description} stopped"
            lost = next((m for m in messages if m.startswith(prefix)), None)
            if lost is not None:
                self.virtualcam = None
        return messages, lost

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


def _even(width_px: int, height_px: int) -> tuple[int, int]:
    return width_px - width_px % 2, height_px - height_px % 2
