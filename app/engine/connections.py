"""The source and the sink a pipeline uses: wrapped to survive failures, swapped live, and one
output format for the whole session.

Only the pipeline's worker calls these, except `release`, which `Pipeline.stop` uses to let go
of a device while the worker may be stuck inside the other one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.clock import Clock
from app.devices.consumers import ConsumerWatch, watch_consumers
from app.devices.frames import Frame, FrameSource
from app.devices.links import LIVE, NONE, DeviceSlot, LinkStatus, close_quietly
from app.devices.resilience import ResilientSink, ResilientSource
from app.devices.sinks import FrameSink, SinkError, VideoFileSink, even_size
from app.engine.stats import PipelineStats
from compositing.fit import fit_frame

_READ_TIMEOUT_S = 0.5


class Connections:
    """The source and the sink, with what the meeting sees: a fixed width, height and rate.

    `resilient` wraps cameras and virtual cameras so that they reconnect by themselves;
    `remember` takes each message for the user.
    """

    def __init__(
        self,
        source: FrameSource,
        sink: FrameSink | None,
        *,
        clock: Clock,
        resilient: bool,
        output_size: tuple[int, int] | None,
        remember: Callable[[str], None],
        watch: Callable[[str], ConsumerWatch | None] = watch_consumers,
    ) -> None:
        self._clock = clock
        self._resilient = resilient
        self._remember = remember
        self._requested_size = output_size
        self._format: tuple[int, int, int] | None = None  # width, height, fps: set by open()
        self.sources = DeviceSlot[FrameSource](self._wrap_source(source))
        self.sinks = DeviceSlot[FrameSink](self._wrap_sink(sink, resilient))
        self._recoveries_seen = 0
        self.frames_sent: int | None = None  # frames the sink accepted: a file's true count
        self._watch_factory = watch
        self._watch: ConsumerWatch | None = None

    @property
    def source(self) -> FrameSource:
        source = self.sources.device
        assert source is not None
        return source

    def open(self, *, sink_must_open: bool, source_must_open: bool) -> tuple[int, int]:
        """Open the source, fix the output format, open the sink; the source's size.

        Errors reach the caller (and nothing stays open), unless a `*_must_open` is False:
        then a live device that cannot open now is retried.
        """
        source = self.source
        if isinstance(source, ResilientSource):
            source.open(must_open=source_must_open)
        else:
            source.open()
        source_size = even_size(source.width_px, source.height_px)
        self._format = (*(self._requested_size or source_size), rate_of(source))
        sink = self.sinks.device
        try:
            if isinstance(sink, ResilientSink):
                sink.open(*self._format, must_open=sink_must_open)
            elif sink is not None:
                sink.open(*self._format)
        except BaseException:
            source.close()
            raise
        self._watch_sink()
        return source_size

    @property
    def output_size(self) -> tuple[int, int]:
        """The size every sink gets, fixed at open (before it, the source's size)."""
        if self._format is None:
            source = self.source
            return self._requested_size or even_size(source.width_px, source.height_px)
        return self._format[0], self._format[1]

    @property
    def output_fps(self) -> int:
        """The rate sinks are opened at: the source's own when it opened (a camera's, as it
        reported it), not the rate asked for in the settings."""
        return self._format[2] if self._format is not None else rate_of(self.source)

    def read(self) -> tuple[Frame | None, bool]:
        """The next frame and whether a file source has ended; nothing once it was released."""
        with self.sources.use() as source:
            if source is None:
                return None, False
            frame = source.read(_READ_TIMEOUT_S)
            return frame, frame is None and bool(getattr(source, "finished", False))

    def send(self, frame_bgr: np.ndarray, fit: str) -> SinkError | None:
        """Fit the frame into the output format and send it; the sink's error, if it failed
        (the sink is then dropped: the preview goes on without it)."""
        with self.sinks.use() as sink:
            if sink is None:
                return None
            width_px, height_px = self.output_size
            try:
                sink.send(fit_frame(frame_bgr, width_px, height_px, fit))
            except SinkError as error:
                self._remember(f"{sink.description} stopped: {error}")
                close_quietly(self.sinks.swap(None))
                return error
            self.frames_sent = (self.frames_sent or 0) + 1
            return None

    @property
    def sink_is_file(self) -> bool:
        return isinstance(self.sinks.device, VideoFileSink)

    def swap_source(self, source: FrameSource) -> None:
        """Use an opened source from now on; the old one is closed."""
        close_quietly(self.sources.swap(self._wrap_source(source)))
        self._recoveries_seen = 0

    def swap_sink(self, sink: FrameSink | None, retry: bool, opened: bool) -> None:
        """Use another sink (wrapped if it should retry), opened here if the caller did not."""
        close_quietly(self.sinks.swap(self._install_sink(sink, retry, opened)))
        self._watch_sink()

    def consumers(self) -> int | None:
        """How many apps read the virtual camera now; None when that cannot be seen (other
        systems, other sinks, no device yet)."""
        if self._watch is None:
            self._watch_sink()  # a virtual camera that opened since: watch it now
        return None if self._watch is None else self._watch.count()

    def _watch_sink(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        device = getattr(self.sinks.device, "device", "")
        if device:
            self._watch = self._watch_factory(device)

    def follow_output_size(self, width_px: int, height_px: int) -> None:
        """The user chose another output size: the one time the sink is reopened."""
        if self._requested_size is None or self._format is None:
            return  # the size follows the source (files): nothing to follow
        if (width_px, height_px) == self._requested_size:
            return
        self._requested_size = (width_px, height_px)
        self._format = (width_px, height_px, self._format[2])
        sink = self.sinks.device
        if isinstance(sink, ResilientSink):
            sink.reformat(*self._format)
            self._remember(
                f"{sink.description} now sends {width_px}x{height_px}. If your meeting app "
                "shows no picture, choose the camera again there (or close and reopen it)."
            )

    def sync(self, stats: PipelineStats) -> bool:
        """Pass the devices' news to the messages and their states to the stats; True once a
        lost camera came back (the stages start afresh)."""
        source, sink = self.sources.device, self.sinks.device
        source_status, came_back = LinkStatus(LIVE), False
        if isinstance(source, ResilientSource):
            self._drain(source.messages)
            source_status = source.status
            if source.recoveries != self._recoveries_seen:
                self._recoveries_seen, came_back = source.recoveries, True
        sink_status = LinkStatus(NONE) if sink is None else LinkStatus(LIVE)
        if isinstance(sink, ResilientSink):
            self._drain(sink.messages)
            sink_status = sink.status
        stats.set_links(
            (source_status.state, source_status.message), (sink_status.state, sink_status.message)
        )
        return came_back

    def release(self, timeout_s: float | None = None) -> None:
        """Close the sink, then the source, each within its share of `timeout_s`; a device in
        use by a stuck worker is closed by whoever finishes with it."""
        share_s = None if timeout_s is None else timeout_s / 2
        self.sinks.release(share_s)
        self.sources.release(share_s)
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def _drain(self, messages: list[str]) -> None:
        while messages:
            self._remember(messages.pop(0))

    def _install_sink(self, sink: FrameSink | None, retry: bool, opened: bool) -> FrameSink | None:
        sink = self._wrap_sink(sink, retry)
        width_px, height_px = self.output_size
        fps = self.output_fps
        if isinstance(sink, ResilientSink):
            if opened:
                sink.adopt(width_px, height_px, fps)
            else:
                sink.open(width_px, height_px, fps, must_open=False)
        elif sink is not None and not opened:
            try:
                sink.open(width_px, height_px, fps)
            except SinkError as error:
                self._remember(f"{sink.description} stopped: {error}")
                return None
        return sink

    def _wrap_source(self, source: FrameSource) -> FrameSource:
        if not self._resilient or isinstance(source, ResilientSource):
            return source
        return ResilientSource(source, self._clock)

    def _wrap_sink(self, sink: FrameSink | None, retry: bool) -> FrameSink | None:
        """Sinks that can be reopened retry; a file cannot (reopening would truncate it)."""
        if sink is None or not retry or isinstance(sink, (ResilientSink, VideoFileSink)):
            return sink
        return ResilientSink(sink, self._clock)


def rate_of(source: FrameSource) -> int:
    """A source's frame rate as whole frames per second; 30 when it does not say."""
    fps = source.fps
    return round(fps) if fps and fps > 0 else 30
