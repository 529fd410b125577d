"""The engine: source, segment, smooth, refine, composite, sink, on one worker thread.

MediaPipe infers on its own thread while the worker composites, so the two cores work in
parallel. The latest frame wins at every hand-over: a frame MediaPipe drops is dropped, never
queued, and each output frame is composited with the mask computed from that same frame.
The command line and the GUI both drive this one object.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from app.clock import Clock, SystemClock
from app.settings import Settings
from app.sinks import FrameSink, SinkError
from app.sources import Frame, FrameSource, SourceError
from app.stages import Finished, FrameStages
from app.stats import PipelineStats, StatsSnapshot
from segmentation.models import ModelError

log = logging.getLogger(__name__)

FrameCallback = Callable[[np.ndarray, StatsSnapshot], None]
PREVIEW_MODES = ("output", "raw", "split")
_READ_TIMEOUT_S = 0.5


class Pipeline:
    """Runs the stages on a worker thread; settings, source and sink change live."""

    def __init__(
        self,
        settings: Settings,
        source: FrameSource,
        sink: FrameSink | None,
        *,
        clock: Clock | None = None,
        on_frame: FrameCallback | None = None,
        every_frame: bool = False,
        pipelined: bool = False,
        max_frames: int | None = None,
    ) -> None:
        """`every_frame` segments every frame synchronously (files, tests); otherwise live.

        `pipelined` lets inference of one frame overlap compositing of the previous one, for
        unpaced sources where throughput matters more than a frame of latency.
        """
        self.stats = PipelineStats()
        self._clock = clock or SystemClock()
        self._settings = settings
        self._pending_settings: Settings | None = None
        self._source = source
        self._pending_source: FrameSource | None = None
        self._sink = sink
        self._pending_sink: tuple[FrameSink | None] | None = None
        self._on_frame = on_frame
        self._every_frame = every_frame
        self._pipelined = pipelined
        self._max_frames = max_frames
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._stages: FrameStages | None = None
        self._paused = False
        self._preview_mode = "output"
        self.error: BaseException | None = None
        self.messages: list[str] = []

    # --- control, from any thread -------------------------------------------------------
    def start(self) -> None:
        """Open the source and sink here, so their errors reach the caller, then run."""
        self._source.open()
        width_px, height_px = _even(self._source.width_px, self._source.height_px)
        if self._sink is not None:
            try:
                self._sink.open(width_px, height_px, _sink_fps(self._source))
            except BaseException:
                self._source.close()
                raise
        try:
            self._stages = FrameStages(
                self._settings, width_px, height_px, every_frame=self._every_frame,
                pipelined=self._pipelined,
            )
        except BaseException:
            self._close_devices()
            raise
        self._thread = threading.Thread(target=self._run, name="backdrop-pipeline", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the worker, join it, and release the source, sink and segmenter."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("pipeline worker did not stop within %.1f s", timeout_s)
            self._thread = None
        else:
            self._close_devices()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the worker ends by itself (frame limit, end of file, error)."""
        return self._finished.wait(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def settings(self) -> Settings:
        with self._lock:
            return self._pending_settings or self._settings

    def update_settings(self, settings: Settings) -> None:
        """Apply new settings at the next frame; nothing restarts."""
        with self._lock:
            self._pending_settings = settings

    def set_source(self, source: FrameSource) -> None:
        """Switch to an opened source at the next frame; the old one is closed by the worker."""
        with self._lock:
            self._pending_source = source

    def set_sink(self, sink: FrameSink | None) -> None:
        """Switch to an opened sink (or none) at the next frame; the old one is closed."""
        with self._lock:
            self._pending_sink = (sink,)

    def set_preview_mode(self, mode: str) -> None:
        """What `on_frame` receives: 'output', 'raw' (the camera) or 'split' (raw | output).

        Only the preview changes; the sink always receives the output.
        """
        if mode not in PREVIEW_MODES:
            raise ValueError(f"preview mode must be one of {', '.join(PREVIEW_MODES)}")
        self._preview_mode = mode

    def set_paused(self, paused: bool) -> None:
        """While paused the sink receives a still, blurred 'be right back' frame."""
        self._paused = paused

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def output_size(self) -> tuple[int, int]:
        return _even(self._source.width_px, self._source.height_px)

    def snapshot(self) -> StatsSnapshot:
        return self.stats.snapshot()

    def describe(self) -> str:
        """What runs: size, source, model and where the frames go."""
        width_px, height_px = self.output_size
        target = self._sink.description if self._sink is not None else "the preview only"
        model = self._stages.model.name if self._stages and self._stages.model else "no"
        return (
            f"{self._source.name} at {width_px}x{height_px}, {model} model, "
            f"sending to {target}"
        )

    # --- the worker -----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self.stats.set_state("running")
            while not self._stop.is_set() and not self._limit_reached():
                self._apply_pending()
                self._step()
        except BaseException as error:  # reported to the caller, never lost on this thread
            log.exception("pipeline stopped by an error")
            self.error = error
            self.stats.set_state("error", str(error))
        finally:
            self._close_devices()
            self._finished.set()
            if self.error is None:
                self.stats.set_state("stopped")

    def _limit_reached(self) -> bool:
        return self._max_frames is not None and self.stats.snapshot().frames_out >= self._max_frames

    def _step(self) -> None:
        assert self._stages is not None
        started_s = time.perf_counter()
        frame = self._source.read(_READ_TIMEOUT_S)
        self._record("read", started_s)
        if frame is None:
            if getattr(self._source, "finished", False):
                self._stop.set()
            return
        self.stats.frame_in(self._clock.now_s())
        for finished in self._stages.process(frame, self.stats):
            self._deliver(finished)

    def _deliver(self, finished: Finished) -> None:
        assert self._stages is not None
        output_bgr, captured_s = finished.output_bgr, finished.captured_s
        if self._paused:
            sent_bgr = self._stages.pause_frame(output_bgr)
        else:
            self._stages.resume()
            sent_bgr = output_bgr
        while self._stages.messages:
            self._remember(self._stages.messages.pop(0))
        started_s = time.perf_counter()
        if self._sink is not None:
            try:
                self._sink.send(sent_bgr)
            except SinkError as error:
                self._sink_failed(error)
        self._record("sink", started_s)
        self.stats.frame_out(self._clock.now_s(), (self._clock.now_s() - captured_s) * 1000.0)
        if self._on_frame is not None:
            self._on_frame(preview_frame(finished, self._preview_mode), self.stats.snapshot())

    def _sink_failed(self, error: SinkError) -> None:
        """Keep the preview running without the sink; the status says what happened."""
        self._remember(f"{self._sink_description()} stopped: {error}")
        if self._sink is not None:
            self._safe_close(self._sink)
        self._sink = None

    def _record(self, stage: str, started_s: float) -> None:
        self.stats.stage(stage, (time.perf_counter() - started_s) * 1000.0)

    def _apply_pending(self) -> None:
        with self._lock:
            settings, self._pending_settings = self._pending_settings, None
            source, self._pending_source = self._pending_source, None
            sink, self._pending_sink = self._pending_sink, None
        assert self._stages is not None
        if source is not None:
            self._safe_close(self._source)
            self._source = source
            self._stages.reset()
        if sink is not None:
            if self._sink is not None:
                self._safe_close(self._sink)
            self._sink = sink[0]
        if settings is not None:
            for message in self._stages.configure(settings):
                self._remember(message)
            self._settings = settings

    def _remember(self, message: str) -> None:
        log.warning("%s", message)
        self.messages.append(message)
        self.stats.set_state("running", message)

    def _sink_description(self) -> str:
        return getattr(self._sink, "description", "output")

    def _close_devices(self) -> None:
        if self._stages is not None:
            self._stages.close()
        self._safe_close(self._source)
        if self._sink is not None:
            self._safe_close(self._sink)

    @staticmethod
    def _safe_close(device: Any) -> None:
        try:
            device.close()
        except (OSError, SourceError, SinkError, RuntimeError, ModelError) as error:
            log.warning("closing %s failed: %s", device, error)


def _even(width_px: int, height_px: int) -> tuple[int, int]:
    """Chrome rejects odd frame sizes, so outputs are cropped to even ones."""
    return width_px - width_px % 2, height_px - height_px % 2


def _sink_fps(source: FrameSource) -> int:
    return round(source.fps) if source.fps and source.fps > 0 else 30


def preview_frame(finished: Finished, mode: str) -> np.ndarray:
    """The frame the preview shows for `mode`; 'split' is a new array, the others are shared."""
    if mode == "raw":
        return finished.input_bgr
    if mode == "split":
        split = finished.output_bgr.copy()
        half = split.shape[1] // 2
        split[:, :half] = finished.input_bgr[:, :half]
        split[:, half - 1:half + 1] = 255
        return split
    return finished.output_bgr


def crop_even(frame_bgr: np.ndarray) -> np.ndarray:
    """A view of the frame cropped to even width and height."""
    height_px, width_px = frame_bgr.shape[:2]
    return frame_bgr[: height_px - height_px % 2, : width_px - width_px % 2]


def blurred_still(frame_bgr: np.ndarray, text: str = "Be right back") -> np.ndarray:
    """A heavily blurred copy of a frame with a short centred caption."""
    height_px, width_px = frame_bgr.shape[:2]
    small = cv2.resize(frame_bgr, (max(width_px // 16, 1), max(height_px // 16, 1)))
    still = cv2.resize(cv2.GaussianBlur(small, (0, 0), 3), (width_px, height_px))
    scale = max(width_px / 900.0, 0.5)
    thickness = max(int(scale * 2), 1)
    (text_w, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, thickness)
    origin = ((width_px - text_w) // 2, (height_px + text_h) // 2)
    cv2.putText(still, text, origin, cv2.FONT_HERSHEY_DUPLEX, scale, (255, 255, 255), thickness,
                cv2.LINE_AA)
    return still


__all__ = ["Frame", "Pipeline", "blurred_still", "crop_even"]
