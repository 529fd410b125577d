"""Keep frames flowing when a camera or virtual camera goes away, and reconnect by itself.

`ResilientSource` wraps a FrameSource: when the camera fails mid-run it hands out captioned
substitute frames at the camera's rate and reopens the camera with backoff on a helper thread.
`ResilientSink` wraps a FrameSink: when sending fails it drops frames and reopens with backoff.
`DeviceSlot` lets `Pipeline.stop` release a device without racing a worker stuck inside it.
Time comes from an injectable clock, so backoff is tested without sleeping.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

import numpy as np

from app.clock import Clock, FramePacer, SystemClock
from app.devices.frames import Frame, FrameSource, SourceError
from app.devices.links import (
    ATTEMPT_JOIN_S,
    CARD_BGR,
    CLOSED,
    FALLBACK_FPS,
    LIVE,
    LOST,
    LOST_CAPTION,
    NONE,
    STALL_S,
    UNAVAILABLE,
    UNAVAILABLE_CAPTION,
    Backoff,
    LinkStatus,
    blurred_still,
    close_quietly,
    first_line,
)
from app.devices.sinks import FrameSink, SinkError

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, eq=False)
class SubstituteFrame(Frame):
    """A frame made while the camera is lost, not captured; `caption` says why."""

    caption: str = LOST_CAPTION


class _Attempt:
    """One reconnection try on its own thread: close the source (if asked), then open it.

    If its owner abandons it while the open is still running, it closes what it opened.
    """

    def __init__(self, source: FrameSource, close_first: bool) -> None:
        self.error: str | None = None
        self.done = threading.Event()
        self._source = source
        self._close_first = close_first
        self._lock = threading.Lock()
        self._abandoned = False
        self._thread = threading.Thread(
            target=self._run, name="backdrop source reconnect", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            if self._close_first:
                close_quietly(self._source)
            self._source.open()
        except Exception as error:  # noqa: BLE001 - any failure is a reason shown to the user
            self.error = str(error) or type(error).__name__
        with self._lock:
            self.done.set()
            opened_for_nobody = self._abandoned and self.error is None
        if opened_for_nobody:
            close_quietly(self._source)

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the attempt; True if it has ended."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def abandon(self) -> bool:
        """Give the attempt up; True if it had already ended (the caller closes the source)."""
        with self._lock:
            self._abandoned = True
            return self.done.is_set()


class ResilientSource:
    """A FrameSource that outlives its camera.

    When the inner source raises, or sends nothing for `stall_s`, `read` returns
    `SubstituteFrame`s at the source's rate (the last good frame, blurred and captioned) while
    a helper thread reopens the source with backoff; real frames resume when it is back.
    `messages` collects what happened (the pipeline drains it); `status` is the state now.
    """

    def __init__(
        self,
        inner: FrameSource,
        clock: Clock | None = None,
        *,
        stall_s: float = STALL_S,
        backoff: Backoff | None = None,
        attempt_join_s: float = ATTEMPT_JOIN_S,
    ) -> None:
        self.inner = inner
        self._clock = clock or SystemClock()
        self._stall_s = stall_s
        self._backoff = backoff or Backoff(self._clock)
        self._attempt_join_s = attempt_join_s
        self._state = LIVE
        self._reason = ""
        self.messages: list[str] = []
        self.recoveries = 0
        self._last_image: np.ndarray | None = None
        self._last_good_s = self._clock.now_s()
        self._pacer: FramePacer | None = None
        self._still: np.ndarray | None = None
        self._attempt: _Attempt | None = None

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def width_px(self) -> int:
        return self.inner.width_px

    @property
    def height_px(self) -> int:
        return self.inner.height_px

    @property
    def fps(self) -> float:
        return self.inner.fps

    @property
    def finished(self) -> bool:
        """A file that ended (not a camera that was lost)."""
        return self._state == LIVE and bool(getattr(self.inner, "finished", False))

    @property
    def status(self) -> LinkStatus:
        if self._state == LIVE:
            return LinkStatus(LIVE)
        waiting = (
            "trying now" if self._attempt else f"next try in {self._backoff.remaining_s():.0f} s"
        )
        if self._state == UNAVAILABLE:
            return LinkStatus(UNAVAILABLE,
                              f"Camera unavailable — retrying… ({waiting}): {self._reason}")
        return LinkStatus(LOST, f"Camera lost — reconnecting… ({waiting}): {self._reason}")

    def open(self, *, must_open: bool = True) -> None:
        """Open the inner source; its errors reach the caller, unless `must_open` is False:
        then a camera that cannot be opened now (another app holds it, it is unplugged) is
        retried with backoff, and `read` hands out a captioned card meanwhile."""
        try:
            self.inner.open()
        except SourceError as error:
            if must_open:
                raise
            self._become_unavailable(str(error))
            return
        self._last_good_s = self._clock.now_s()

    def _become_unavailable(self, reason: str) -> None:
        self._state, self._reason = UNAVAILABLE, first_line(reason)
        self._pacer = FramePacer(self._clock, self.inner.fps or FALLBACK_FPS)
        self._still = None
        self._backoff.failed()  # the first retry waits its turn: the open just failed
        self.messages.append(
            f"Camera unavailable: {first_line(reason)} Backdrop sends a 'camera unavailable' "
            "picture instead and keeps trying."
        )

    def pause(self, paused: bool) -> None:
        """Pause the camera's reading (when it can); resuming starts its stall timer anew."""
        pause = getattr(self.inner, "pause", None)
        if pause is not None:
            pause(paused)
        if not paused:
            self._last_good_s = self._clock.now_s()

    def read(self, timeout_s: float = 1.0) -> Frame | None:
        """A camera frame, a substitute while the camera is lost, or None on timeout."""
        if self._state == LIVE:
            frame = self._read_live(timeout_s)
            if self._state == LIVE:
                return frame
        return self._read_lost(timeout_s)

    def _read_live(self, timeout_s: float) -> Frame | None:
        try:
            frame = self.inner.read(timeout_s)
        except (SourceError, OSError) as error:
            self._lose(str(error))
            return None
        now_s = self._clock.now_s()
        if frame is not None:
            self._last_image, self._last_good_s = frame.image_bgr, now_s
        elif now_s - self._last_good_s > self._stall_s and not self.finished:
            self._lose(f"{self.inner.name} sent no picture for {self._stall_s:g} s.")
        return frame

    def _lose(self, reason: str) -> None:
        self._state, self._reason = LOST, first_line(reason)
        self._pacer = FramePacer(self._clock, self.inner.fps or FALLBACK_FPS)
        self._still = None
        self.messages.append(
            f"Camera lost: {first_line(reason)} Backdrop sends a still picture and reconnects."
        )
        self._attempt = _Attempt(self.inner, close_first=True)

    def _read_lost(self, timeout_s: float) -> Frame | None:
        self._poll_attempt()
        if self._state == LIVE:
            return None  # the next read gets a camera frame
        if self._attempt is None and self._backoff.ready():
            self._attempt = _Attempt(self.inner, close_first=False)
        assert self._pacer is not None
        index = self._pacer.next_due(timeout_s)
        if index is None:
            return None
        caption = UNAVAILABLE_CAPTION if self._state == UNAVAILABLE else LOST_CAPTION
        return SubstituteFrame(self._substitute_bgr(), self._clock.now_s(), index, caption)

    def _poll_attempt(self) -> None:
        attempt = self._attempt
        if attempt is None or not attempt.done.is_set():
            return
        attempt.join()
        self._attempt = None
        if attempt.error is None:
            self._state, self.recoveries = LIVE, self.recoveries + 1
            self._last_good_s = self._clock.now_s()
            self._backoff.succeeded()
            self.messages.append(f"{self.inner.name} is back.")
            return
        self._backoff.failed()
        self._reason = first_line(attempt.error)

    def _substitute_bgr(self) -> np.ndarray:
        """The last good frame, blurred and captioned; a plain card if there was none."""
        if self._still is None:
            caption = UNAVAILABLE_CAPTION if self._state == UNAVAILABLE else LOST_CAPTION
            if self._last_image is not None:
                still = blurred_still(self._last_image, caption)
            else:
                card = np.empty((self.inner.height_px, self.inner.width_px, 3), np.uint8)
                card[:] = CARD_BGR
                still = blurred_still(card, caption)
            still.flags.writeable = False
            self._still = still
        return self._still

    def settle(self, timeout_s: float | None = None) -> bool:
        """Wait for a reconnection attempt in progress to end; True if none is running."""
        attempt = self._attempt
        return attempt is None or attempt.join(timeout_s)

    def close(self) -> None:
        """Close the inner source; an attempt still opening it closes it when it ends."""
        attempt, self._attempt = self._attempt, None
        if attempt is not None and not attempt.join(self._attempt_join_s):
            if not attempt.abandon():
                log.warning("%s is still reconnecting; it is closed when that ends", self.name)
                return
        self.inner.close()


class ResilientSink:
    """A FrameSink that survives its device failing: frames are dropped (the preview goes on)
    and the device is reopened with backoff, on the caller's thread (opening is quick)."""

    def __init__(
        self, inner: FrameSink, clock: Clock | None = None, *, backoff: Backoff | None = None
    ) -> None:
        self.inner = inner
        self._clock = clock or SystemClock()
        self._backoff = backoff or Backoff(self._clock)
        self._format: tuple[int, int, int] | None = None
        self._state = UNAVAILABLE
        self._reason = "not opened yet"
        self._name = inner.description
        self.messages: list[str] = []
        self.recoveries = 0

    @property
    def description(self) -> str:
        return self.inner.description

    @property
    def device(self) -> str:
        return self.inner.device

    @property
    def status(self) -> LinkStatus:
        if self._state in (LIVE, CLOSED):
            return LinkStatus(LIVE if self._state == LIVE else NONE)
        what = "lost" if self._state == LOST else "unavailable"
        return LinkStatus(
            self._state,
            f"{self._name} {what}, retrying in {self._backoff.remaining_s():.0f} s: {self._reason}",
        )

    def open(self, width_px: int, height_px: int, fps: int, *, must_open: bool = True) -> None:
        """Open the device; with `must_open=False` a failure is retried instead of raised."""
        self._format = (width_px, height_px, fps)
        try:
            self.inner.open(width_px, height_px, fps)
        except SinkError as error:
            if must_open:
                raise
            self._fail(UNAVAILABLE, str(error))
            return
        self._working()

    def reformat(self, width_px: int, height_px: int, fps: int) -> None:
        """Close the device and open it at another format (retried if it cannot open now)."""
        close_quietly(self.inner)
        self.open(width_px, height_px, fps, must_open=False)

    def adopt(self, width_px: int, height_px: int, fps: int) -> None:
        """Take over an inner sink the caller already opened at this format."""
        self._format = (width_px, height_px, fps)
        self._working()

    def _working(self) -> None:
        self._state, self._reason = LIVE, ""
        self._name = self.inner.description
        self._backoff.succeeded()

    def send(self, frame_bgr: np.ndarray) -> None:
        """Send, or drop the frame while the device is away; raises only after close()."""
        if self._state == CLOSED:
            raise SinkError(f"Cannot send a frame: {self._name} is closed.")
        if self._state != LIVE and not (self._backoff.ready() and self._reopen()):
            return
        try:
            self.inner.send(frame_bgr)
        except SinkError as error:
            self._fail(LOST, str(error))

    def _reopen(self) -> bool:
        assert self._format is not None, "open() or adopt() comes first"
        try:
            self.inner.open(*self._format)
        except SinkError as error:
            close_quietly(self.inner)
            self._backoff.failed()
            self._reason = first_line(str(error))
            return False
        reason = self._reason
        self._working()
        self.recoveries += 1
        self.messages.append(f"{self._name} works again (after: {reason}).")
        return True

    def _fail(self, state: str, reason: str) -> None:
        self._name = self.inner.description
        close_quietly(self.inner)
        delay_s = self._backoff.failed()
        self._state, self._reason = state, first_line(reason)
        self.messages.append(
            f"{reason.strip()} Retrying in {delay_s:g} s; the preview keeps running."
        )

    def close(self) -> None:
        """Close the device for good (a closed sink is never reopened)."""
        self._state, self._reason = CLOSED, "closed"
        self.inner.close()
