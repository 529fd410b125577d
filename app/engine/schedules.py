"""How frames go through the segmenter: the run modes, and one small schedule for each.

A schedule takes a prepared frame, gets its mask from the segmenter in its own way, and yields
the frames now finished. The stages own the segmenter and the finishing (smooth, refine,
composite); a schedule owns only the frames in flight and, pipelined, the compositing thread.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np

from app.engine.stats import PipelineStats, ms_since
from app.jobs import JobThread
from segmentation.segmenter import LiveSegmenter, VideoSegmenter

_RESULT_TIMEOUT_S = 0.25
# Frames submitted whose result never came (MediaPipe dropped them) are forgotten beyond this.
_MAX_IN_FLIGHT = 2


class RunMode(enum.Enum):
    """How a pipeline runs; each mode is one schedule and one way of treating devices."""

    # A camera or a paced file: one frame in flight, composited with its own mask; devices
    # that fail are replaced or reopened; the load governor degrades quality under load.
    LIVE = "live"
    # Unpaced (bench, demo into a file): inference of frame t overlaps compositing of t-1.
    THROUGHPUT = "throughput"
    # A video file transcoded to a file: VIDEO mode, every frame, deterministic.
    EVERY_FRAME = "every-frame"

    @property
    def resilient(self) -> bool:
        """Whether failing devices are retried instead of ending the run."""
        return self is not RunMode.EVERY_FRAME


class Prepared:
    """A frame ready for the segmenter, with what the stages derived from it."""

    __slots__ = ("frame_bgr", "work_bgr", "captured_s", "small_rgb", "small_gray", "timestamp_ms",
                 "still", "halves")

    def __init__(
        self, frame_bgr: np.ndarray, work_bgr: np.ndarray, captured_s: float,
        small_rgb: np.ndarray, small_gray: np.ndarray, timestamp_ms: int, still: bool = False,
        halves: tuple[np.ndarray, ...] = (),
    ) -> None:
        """`still`: nothing moved since the frame whose alpha is kept, which this one reuses.
        `halves`: the frame halved once, twice, ... on its way to the model's input."""
        self.halves = halves
        self.frame_bgr = frame_bgr
        self.work_bgr = work_bgr
        self.captured_s = captured_s
        self.small_rgb = small_rgb
        self.small_gray = small_gray
        self.timestamp_ms = timestamp_ms
        self.still = still


class Finished:
    """An output frame, with the camera frame it was made from (mirrored if the output is)."""

    __slots__ = ("output_bgr", "input_bgr", "captured_s")

    def __init__(self, output_bgr: np.ndarray, prepared: Prepared) -> None:
        self.output_bgr = output_bgr
        self.input_bgr = prepared.frame_bgr
        self.captured_s = prepared.captured_s

    @classmethod
    def unchanged(cls, frame_bgr: np.ndarray, captured_s: float) -> Finished:
        """A frame no effect applies to: the output is the camera frame itself."""
        finished = cls.__new__(cls)
        finished.output_bgr = finished.input_bgr = frame_bgr
        finished.captured_s = captured_s
        return finished


Segmenter = LiveSegmenter | VideoSegmenter
# Smooth, refine and composite one frame; a None confidence carries the previous mask on.
FinishFn = Callable[[Prepared, "np.ndarray | None", PipelineStats], np.ndarray]


class Schedule(Protocol):
    def feed(
        self, segmenter: Segmenter, prepared: Prepared, stats: PipelineStats
    ) -> Iterator[Finished]:
        """Hand one prepared frame over; yield each frame now finished."""
        ...

    def drain(self) -> None:
        """Let work in progress end before state changes (its frame is dropped)."""
        ...

    def forget(self) -> None:
        """Drop the frames in flight: the source, the size or the model changed."""
        ...

    def close(self) -> None: ...


def make_schedule(mode: RunMode, finish: FinishFn, carry: Callable[[], bool]) -> Schedule:
    """The schedule for `mode`; `carry()` says whether a live frame may reuse the last mask."""
    if mode is RunMode.EVERY_FRAME:
        return EveryFrame(finish)
    if mode is RunMode.THROUGHPUT:
        return Overlapped(finish)
    return OneInFlight(finish, carry)


class EveryFrame:
    """VIDEO mode: every frame is segmented, synchronously, in order."""

    def __init__(self, finish: FinishFn) -> None:
        self._finish = finish

    def feed(
        self, segmenter: Segmenter, prepared: Prepared, stats: PipelineStats
    ) -> Iterator[Finished]:
        assert isinstance(segmenter, VideoSegmenter)
        started_s = time.perf_counter()
        confidence = segmenter.segment(prepared.small_rgb, prepared.timestamp_ms)
        stats.stage("segment", ms_since(started_s))
        yield Finished(self._finish(prepared, confidence, stats), prepared)

    def drain(self) -> None:
        pass

    def forget(self) -> None:
        pass

    def close(self) -> None:
        pass


class _InFlight:
    """Frames submitted to the live segmenter, by timestamp, until their mask comes back."""

    def __init__(self) -> None:
        self._frames: dict[int, Prepared] = {}

    def __bool__(self) -> bool:
        return bool(self._frames)

    def submit(self, segmenter: Segmenter, prepared: Prepared, stats: PipelineStats) -> None:
        assert isinstance(segmenter, LiveSegmenter)
        self._frames[prepared.timestamp_ms] = prepared
        while len(self._frames) > _MAX_IN_FLIGHT:  # results that never came: dropped by MediaPipe
            del self._frames[min(self._frames)]
            stats.dropped()
        segmenter.submit(prepared.small_rgb, prepared.timestamp_ms)

    def await_newest(
        self, segmenter: Segmenter, stats: PipelineStats
    ) -> tuple[Prepared, np.ndarray] | None:
        """The newest frame whose mask came back, with it; older unfinished ones are dropped."""
        assert isinstance(segmenter, LiveSegmenter)
        started_s = time.perf_counter()
        segmenter.wait_for_results(_RESULT_TIMEOUT_S)
        stats.stage("segment_wait", ms_since(started_s))
        results = segmenter.take_results()
        if not results:
            return None
        newest_ms = max(results)
        for timestamp_ms in [t for t in self._frames if t < newest_ms]:
            del self._frames[timestamp_ms]
            stats.dropped()
        prepared = self._frames.pop(newest_ms, None)
        return None if prepared is None else (prepared, results[newest_ms])

    def clear(self) -> None:
        self._frames.clear()


class OneInFlight:
    """Live and paced: submit a frame, wait for its own mask, composite it.

    A still frame (nothing moved since the last one segmented) is not submitted: it is
    composited with the kept alpha. When `carry()` says so (the load governor's last step,
    once there is a mask to reuse), every other frame reuses the previous mask instead of
    being segmented.
    """

    def __init__(self, finish: FinishFn, carry: Callable[[], bool]) -> None:
        self._finish = finish
        self._carry = carry
        self._in_flight = _InFlight()
        self._carry_next = False

    def feed(
        self, segmenter: Segmenter, prepared: Prepared, stats: PipelineStats
    ) -> Iterator[Finished]:
        if prepared.still:
            stats.still_frame()
            yield Finished(self._finish(prepared, None, stats), prepared)
            return
        if self._carry_next and self._carry():
            self._carry_next = False
            yield Finished(self._finish(prepared, None, stats), prepared)
            return
        self._carry_next = self._carry()
        self._in_flight.submit(segmenter, prepared, stats)
        done = self._in_flight.await_newest(segmenter, stats)
        if done is not None:
            yield Finished(self._finish(done[0], done[1], stats), done[0])

    def drain(self) -> None:
        pass

    def forget(self) -> None:
        self._in_flight.clear()
        self._carry_next = False

    def close(self) -> None:
        pass


class Overlapped:
    """Unpaced: frame t is composited on its own thread while this one reads and prepares
    frame t+1 and MediaPipe infers it, so the three overlap on two cores."""

    def __init__(self, finish: FinishFn) -> None:
        self._finish = finish
        self._in_flight = _InFlight()
        self._worker: JobThread[Finished] = JobThread("backdrop-composite")

    def feed(
        self, segmenter: Segmenter, prepared: Prepared, stats: PipelineStats
    ) -> Iterator[Finished]:
        # Collect the previous frame's mask first so MediaPipe is idle when this frame
        # arrives (it drops frames sent while busy); then composite the previous frame
        # while MediaPipe infers this one.
        done = self._in_flight.await_newest(segmenter, stats) if self._in_flight else None
        self._in_flight.submit(segmenter, prepared, stats)
        if done is None:
            return
        previous = self._worker.take()
        done_prepared, confidence = done
        self._worker.submit(
            lambda: Finished(self._finish(done_prepared, confidence, stats), done_prepared)
        )
        if previous is not None:
            yield previous

    def drain(self) -> None:
        self._worker.take()

    def forget(self) -> None:
        self._in_flight.clear()

    def close(self) -> None:
        self._worker.close()
