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

import cv2
import numpy as np

from app.clock import Clock, SystemClock
from app.devices.consumers import ConsumerWatch, watch_consumers
from app.devices.frames import FrameSource
from app.devices.links import blurred_still, close_quietly
from app.devices.resilience import SubstituteFrame
from app.devices.sinks import FrameSink, crop_even
from app.engine.cards import IDLE_CAPTION, off_card, plain_card
from app.engine.connections import Connections, rate_of
from app.engine.schedules import Finished, RunMode
from app.engine.segmenters import FirstSegmenter
from app.engine.stages import BusyMeter, FrameStages
from app.engine.stats import MessageLog, PipelineStats, StatsSnapshot
from app.settings import Settings
from compositing.downscale import shrink_to

log = logging.getLogger(__name__)

FrameCallback = Callable[[np.ndarray, StatsSnapshot], None]
PREVIEW_MODES = ("output", "raw", "split", "framing")
_KEPT_MESSAGES = 100
# While idle, the virtual camera gets a still this often: it keeps streaming, so meeting apps
# still list it (v4l2loopback with exclusive_caps shows it only while a producer streams).
_IDLE_FRAME_S = 0.5
IDLE_MESSAGE = "Idle: no app is using the camera. Backdrop wakes up when one does."
# stop() waits this share of its budget for the worker, then releases what the worker is not using.
_JOIN_SHARE = 0.6



class Pipeline:
    """Runs the stages on a worker thread; settings, source and sink change live.

    Live runs are resilient: a camera lost mid-run is replaced by a captioned still while it
    reconnects, and a virtual camera that fails is reopened with backoff; the snapshot's
    `source_state` and `sink_state` say so. `stop()` returns within its timeout even when a
    device call hangs.
    """

    def __init__(
        self,
        settings: Settings,
        source: FrameSource,
        sink: FrameSink | None,
        *,
        clock: Clock | None = None,
        on_frame: FrameCallback | None = None,
        mode: RunMode = RunMode.LIVE,
        max_frames: int | None = None,
        output_size: tuple[int, int] | None = None,
        busy_ms: BusyMeter | None = None,
        preview_visible: bool | None = None,
        watch_consumers: Callable[[str], ConsumerWatch | None] = watch_consumers,
    ) -> None:
        """`mode` says how frames go through the segmenter and whether failing devices are
        retried (`RunMode`); `max_frames` ends the run after that many output frames.

        `output_size` is what the sink is opened at, once, for the whole session (default:
        the source's size at start); frames of another size are fitted into it, as
        `settings.output.fit` says. `busy_ms` overrides the load the governor sees (tests).
        """
        self._busy_ms = busy_ms
        # Nobody watches when no app reads the virtual camera and the preview is not seen
        # (no window, or hidden or minimised): then Backdrop idles.
        self._preview_visible = on_frame is not None if preview_visible is None else preview_visible
        self._idle = False
        self._idle_still: np.ndarray | None = None
        self.stats = PipelineStats()
        self.messages = MessageLog(_KEPT_MESSAGES)
        self._clock = clock or SystemClock()
        self._mode = mode
        self._settings = settings
        self._pending_settings: Settings | None = None
        self._devices = Connections(
            source, sink, clock=self._clock, resilient=mode.resilient, output_size=output_size,
            remember=self._remember, watch=watch_consumers,
        )
        self._pending_source: FrameSource | None = None
        self._pending_sink: tuple[FrameSink | None, bool, bool] | None = None
        self._on_frame = on_frame
        self._max_frames = max_frames
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._worker_started = False
        self._stages: FrameStages | None = None
        self._paused = False
        self._sending = True
        self._preview_mode = "output"
        self._last_output: np.ndarray | None = None
        self._lost_still: np.ndarray | None = None
        self.error: BaseException | None = None

    @property
    def frames_sent(self) -> int | None:
        """Frames the sink accepted (None until one did): a file's true frame count."""
        return self._devices.frames_sent

    # --- control, from any thread -------------------------------------------------------
    def start(self, *, sink_must_open: bool = True, source_must_open: bool = True) -> None:
        """Open the source and sink here, so their errors reach the caller, then run.

        Live, with `sink_must_open=False` a sink that cannot open now is retried instead; with
        `source_must_open=False` so is a camera (the sink gets a 'camera unavailable' card).
        """
        asked = self._devices.source  # its size is the one asked for until it opens
        first = FirstSegmenter(self._settings.mask.model, asked.width_px, asked.height_px,
                               self._mode)  # the graph builds while the source opens
        try:
            source_size = self._devices.open(
                sink_must_open=sink_must_open, source_must_open=source_must_open
            )
            try:
                self._stages = FrameStages(
                    self._settings, *source_size, self._mode,
                    source_fps=rate_of(self._devices.source), busy_ms=self._busy_ms,
                    new_segmenter=first.build, output_size=self._devices.output_size,
                )
            except BaseException:
                self._close_devices()
                raise
        finally:
            first.close()
        self._sync_links()
        self._thread = threading.Thread(target=self._run, name="backdrop-pipeline", daemon=True)
        self._worker_started = True
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the worker and release the source, sink and segmenter, within `timeout_s`.

        A worker stuck inside a device call (a driver that never returns) is left to end by
        itself; whichever device it is not using is released anyway.
        """
        with self._lock:  # from now on a source or sink set is closed, never applied
            self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            if not self._worker_started:  # a worker closes everything itself when it ends
                self._close_devices()
            return
        deadline_s = time.monotonic() + timeout_s
        thread.join(timeout_s * _JOIN_SHARE)
        if not thread.is_alive():
            return
        log.warning("pipeline worker is stuck in a device call; releasing what it does not use")
        self._devices.release(deadline_s - time.monotonic())

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
        """Switch to an opened source at the next frame; the old one is closed by the worker.

        After stop() nothing is applied any more: the source is closed at once.
        """
        replaced: FrameSource | None = source
        with self._lock:
            if not self._stop.is_set():
                replaced, self._pending_source = self._pending_source, source
        close_quietly(replaced)  # never applied: nobody else will close it

    def set_sink(self, sink: FrameSink | None, *, retry: bool = False, opened: bool = True) -> None:
        """Switch to a sink (or none) at the next frame; the old one is closed.

        `opened=False` lets the worker open it. With `retry` a sink that fails (or cannot open)
        is reopened with backoff and `snapshot().sink_state` says so; without, it is dropped
        with a message "<description> stopped: <reason>".
        """
        replaced: tuple[FrameSink | None, bool, bool] | None = (sink, retry, opened)
        with self._lock:
            if not self._stop.is_set():
                replaced, self._pending_sink = self._pending_sink, (sink, retry, opened)
        if replaced is not None:
            close_quietly(replaced[0])  # never applied: nobody else will close it

    def set_preview_mode(self, mode: str) -> None:
        """What `on_frame` receives: 'output', 'raw' (the camera), 'split' (raw | output) or
        'framing' (the camera with auto-framing's crop outlined, while the user adjusts it).

        Only the preview changes; the sink always receives the output.
        """
        if mode not in PREVIEW_MODES:
            raise ValueError(f"preview mode must be one of {', '.join(PREVIEW_MODES)}")
        self._preview_mode = mode

    def set_preview_visible(self, visible: bool) -> None:
        """Whether anyone sees the preview (the window is shown): with no app reading the
        virtual camera either, Backdrop stops segmenting and compositing until one is."""
        self._preview_visible = visible

    @property
    def idle(self) -> bool:
        return self._idle

    def set_paused(self, paused: bool) -> None:
        """While paused the sink receives a still, blurred 'be right back' frame."""
        self._paused = paused

    @property
    def paused(self) -> bool:
        return self._paused

    def set_sending(self, sending: bool) -> None:
        """Off: the sink stays open and receives a still "Camera off" card (no picture of
        the user), so a meeting app reading the virtual camera keeps it; the preview stays
        live."""
        self._sending = sending

    @property
    def sending(self) -> bool:
        return self._sending

    @property
    def output_size(self) -> tuple[int, int]:
        """The size every sink gets, fixed at start for the whole session."""
        return self._devices.output_size

    @property
    def source_size(self) -> tuple[int, int]:
        """The size the current source delivers (a larger camera's frames are worked at the
        output size: see `FrameStages.follow_output`)."""
        source = self._devices.source
        return source.width_px, source.height_px

    @property
    def output_fps(self) -> int:
        """The rate sinks are opened at: the source's own at start."""
        return self._devices.output_fps

    def snapshot(self) -> StatsSnapshot:
        return self.stats.snapshot()

    def describe(self) -> str:
        """What runs: size, source, model and where the frames go."""
        width_px, height_px = self.output_size
        sink = self._devices.sinks.device
        target = sink.description if sink is not None else "the preview only"
        model = self._stages.model.name if self._stages and self._stages.model else "no"
        return (
            f"{self._devices.source.name} at {width_px}x{height_px}, {model} model, "
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
        return self._max_frames is not None and self.stats.frames_out >= self._max_frames

    def _step(self) -> None:
        assert self._stages is not None
        if self._nobody_watches():
            self._idle_step()
            return
        started_s = time.perf_counter()
        frame, source_finished = (None, False) if self._stop.is_set() else self._devices.read()
        self._record("read", started_s)
        self._sync_links()
        if frame is None or self._stop.is_set():
            if source_finished:
                self._stop.set()
            return  # nothing new, or stop() came while the read was waiting
        if isinstance(frame, SubstituteFrame):
            self._deliver_substitute(frame)
            return
        self.stats.frame_in(self._clock.now_s())
        for finished in self._stages.process(frame, self.stats):
            self._deliver(finished)

    def _nobody_watches(self) -> bool:
        """No app reads the virtual camera (as far as can be seen) and the preview is unseen;
        enters and leaves the idle state, saying so."""
        idle = not self._preview_visible and self._devices.consumers() == 0
        if idle != self._idle:
            self._idle = idle
            pause = getattr(self._devices.source, "pause", None)
            if pause is not None:
                pause(idle)
            if idle:
                self.stats.set_state("idle", IDLE_MESSAGE)
            else:
                assert self._stages is not None
                self._stages.reset()  # the masks from before the idle spell are stale
                self._idle_still = None
                self._remember("Backdrop is live again: an app is using the camera.")
        return idle

    def _idle_step(self) -> None:
        """No reading, no segmenting: a still to the virtual camera now and then."""
        if not self._sending:
            self._send(off_card(*self.output_size))
        else:
            if self._idle_still is None:
                last = self._last_output
                self._idle_still = blurred_still(
                    last if last is not None else plain_card(*self.output_size), IDLE_CAPTION)
            self._send(self._idle_still)
        self._stop.wait(_IDLE_FRAME_S)

    def _deliver(self, finished: Finished) -> None:
        assert self._stages is not None
        output_bgr, captured_s = finished.output_bgr, finished.captured_s
        if not self._sending:
            sent_bgr = off_card(*self.output_size)
        elif self._paused:
            sent_bgr = self._stages.pause_frame(output_bgr)
        else:
            self._stages.resume()
            sent_bgr = output_bgr
        self._last_output, self._lost_still = output_bgr, None
        while self._stages.messages:
            self._remember(self._stages.messages.pop(0))
        self._send(sent_bgr)
        self.stats.frame_out(self._clock.now_s(), (self._clock.now_s() - captured_s) * 1000.0)
        if self._on_frame is not None:
            self._on_frame(preview_frame(finished, self._preview_mode, self._stages.framing_box),
                           self.stats.snapshot(figures=False))

    def _deliver_substitute(self, frame: SubstituteFrame) -> None:
        """While the camera is lost: the last output, blurred and captioned (or the pause
        still), to the sink and the preview, at the camera's rate."""
        assert self._stages is not None
        if self._paused and self._last_output is not None:
            still_bgr = self._stages.pause_frame(self._last_output)
        else:
            if self._lost_still is None:
                self._lost_still = (
                    blurred_still(self._last_output, frame.caption)
                    if self._last_output is not None else crop_even(frame.image_bgr)
                )
            still_bgr = self._lost_still
        self._send(still_bgr if self._sending else off_card(*self.output_size))
        self.stats.frame_out(self._clock.now_s(), None)
        if self._on_frame is not None:
            self._on_frame(still_bgr, self.stats.snapshot(figures=False))

    def _send(self, frame_bgr: np.ndarray) -> None:
        """To the sink, fitted to the output format. A sink that fails is dropped and the
        preview goes on; a file that cannot be written ends the run (going on would lose
        every frame)."""
        started_s = time.perf_counter()
        was_file = self._devices.sink_is_file
        error = self._devices.send(frame_bgr, self._settings.output.fit)
        if error is not None:
            if was_file:
                self.error = error
                self._stop.set()
            self._sync_links()
        self._record("sink", started_s)

    def _record(self, stage: str, started_s: float) -> None:
        self.stats.stage(stage, (time.perf_counter() - started_s) * 1000.0)

    def _apply_pending(self) -> None:
        with self._lock:
            settings, self._pending_settings = self._pending_settings, None
            source, self._pending_source = self._pending_source, None
            sink, self._pending_sink = self._pending_sink, None
        assert self._stages is not None
        if source is not None:
            self._devices.swap_source(source)
            self._stages.reset()
            self._stages.set_source_fps(rate_of(self._devices.source))
            self._last_output = self._lost_still = None
        if sink is not None:
            self._devices.swap_sink(*sink)
        if settings is not None:
            for message in self._stages.configure(settings):
                self._remember(message)
            self._settings = settings
            self._devices.follow_output_size(settings.output.width_px, settings.output.height_px)
            self._stages.follow_output(self._devices.output_size)
        if source is not None or sink is not None:
            self._sync_links()

    def _sync_links(self) -> None:
        """The devices' news to the messages, their states to the stats; a camera that came
        back starts the stages afresh."""
        if self._devices.sync(self.stats) and self._stages is not None:
            self._stages.reset()

    def _remember(self, message: str) -> None:
        log.warning("%s", message)
        self.messages.add(message)  # a long run keeps the recent ones only
        self.stats.set_state("running", message)

    def _close_devices(self) -> None:
        if self._stages is not None:
            self._stages.close()
        self._devices.release()
        with self._lock:  # switches asked for but never applied
            source, self._pending_source = self._pending_source, None
            sink, self._pending_sink = self._pending_sink, None
        close_quietly(source)
        if sink is not None:
            close_quietly(sink[0])


def preview_frame(finished: Finished, mode: str,
                  framing_box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """The frame the preview shows for `mode`; 'split' and 'framing' are new arrays, the others
    are shared. 'framing' without a crop (framing off) is the output."""
    if mode == "raw":
        return finished.input_bgr
    if mode == "framing" and framing_box is not None:
        return outlined_crop(finished.input_bgr, framing_box)
    if mode == "split":
        split = finished.output_bgr.copy()
        height_px, width_px = split.shape[:2]
        camera_bgr = shrink_to(finished.input_bgr, (width_px, height_px))  # framing's crop
        half = width_px // 2
        split[:, :half] = camera_bgr[:, :half]
        split[:, half - 1:half + 1] = 255
        return split
    return finished.output_bgr


def outlined_crop(frame_bgr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The whole frame, faintly darker outside the crop (x, y, w, h), the crop outlined."""
    x, y, width_px, height_px = box
    shown = cv2.convertScaleAbs(frame_bgr, alpha=0.6)
    shown[y:y + height_px, x:x + width_px] = frame_bgr[y:y + height_px, x:x + width_px]
    cv2.rectangle(shown, (x, y), (x + width_px - 1, y + height_px - 1), (235, 235, 235), 2)
    return shown
