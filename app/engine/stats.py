"""Frame-rate, drop, per-stage timing and latency figures for the status line and bench."""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Iterator

import numpy as np

# Rates and percentiles are taken over the most recent frames only, so they follow changes.
_WINDOW_FRAMES = 120
_HEALTHY = ("live", "none")


def ms_since(started_s: float) -> float:
    """Milliseconds since `started_s`, a time.perf_counter() reading: a stage's time."""
    return (time.perf_counter() - started_s) * 1000.0


@dataclasses.dataclass(frozen=True)
class StatsSnapshot:
    """What the status line, the GUI's status bar and `backdrop bench` show."""

    input_fps: float = 0.0
    output_fps: float = 0.0
    frames_in: int = 0
    frames_out: int = 0
    dropped_frames: int = 0
    # Frames that showed nothing new and reused the last alpha: no inference, no refinement.
    still_frames: int = 0
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    stage_ms_p50: dict[str, float] = dataclasses.field(default_factory=dict)
    state: str = "starting"
    message: str = ""
    # The camera and the output device: "live", "lost" (failed mid-run, reconnecting),
    # "unavailable" (cannot be opened, retrying) or "none" (no output device).
    source_state: str = "live"
    source_message: str = ""
    sink_state: str = "none"
    sink_message: str = ""

    @property
    def degraded(self) -> bool:
        """True while the camera or the output device is away and Backdrop reconnects."""
        return self.source_state not in _HEALTHY or self.sink_state not in _HEALTHY

    def status_line(self) -> str:
        """One line for a terminal: fps, latency, drops, then what is wrong (or the message)."""
        line = (
            f"{self.output_fps:5.1f} fps out ({self.input_fps:5.1f} in) | "
            f"latency {self.latency_ms_p50:5.1f} ms (p95 {self.latency_ms_p95:5.1f}) | "
            f"dropped {self.dropped_frames}"
        )
        notes = [
            message
            for state, message in ((self.source_state, self.source_message),
                                   (self.sink_state, self.sink_message))
            if state not in _HEALTHY and message
        ]
        if not notes and self.message:
            notes = [self.message]
        return " | ".join([line, *notes])


class PipelineStats:
    """Thread-safe accumulator; the worker records, anyone may take a snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._input_times_s: collections.deque[float] = collections.deque(maxlen=_WINDOW_FRAMES)
        self._output_times_s: collections.deque[float] = collections.deque(maxlen=_WINDOW_FRAMES)
        self._latencies_ms: collections.deque[float] = collections.deque(maxlen=_WINDOW_FRAMES)
        self._stage_ms: dict[str, collections.deque[float]] = {}
        # Every frame's figures, kept only when asked (bench): a long run must not grow.
        self.keep_history = False
        self.all_latencies_ms: list[float] = []
        self.all_stage_ms: dict[str, list[float]] = {}
        self._frames_in = 0
        self._frames_out = 0
        self._dropped = 0
        self._still = 0
        self._state = "starting"
        self._message = ""
        self._links = (("live", ""), ("none", ""))

    def frame_in(self, now_s: float) -> None:
        with self._lock:
            self._frames_in += 1
            self._input_times_s.append(now_s)

    def frame_out(self, now_s: float, latency_ms: float | None) -> None:
        """Count a frame sent; `latency_ms` None for a frame not captured (a substitute)."""
        with self._lock:
            self._frames_out += 1
            self._output_times_s.append(now_s)
            if latency_ms is not None:
                self._latencies_ms.append(latency_ms)
                if self.keep_history:
                    self.all_latencies_ms.append(latency_ms)

    def dropped(self, count: int = 1) -> None:
        with self._lock:
            self._dropped += count

    def still_frame(self) -> None:
        """Count a frame that reused the last alpha (nothing in the picture moved)."""
        with self._lock:
            self._still += 1

    def stage(self, name: str, milliseconds: float) -> None:
        with self._lock:
            self._stage_ms.setdefault(name, collections.deque(maxlen=_WINDOW_FRAMES)).append(
                milliseconds
            )
            if self.keep_history:
                self.all_stage_ms.setdefault(name, []).append(milliseconds)

    def set_state(self, state: str, message: str = "") -> None:
        with self._lock:
            self._state = state
            self._message = message

    def set_links(self, source: tuple[str, str], sink: tuple[str, str]) -> None:
        """The (state, message) of the camera and of the output device."""
        with self._lock:
            self._links = (source, sink)

    @property
    def frames_out(self) -> int:
        with self._lock:
            return self._frames_out

    def snapshot(self, *, figures: bool = True) -> StatsSnapshot:
        """Everything now; `figures=False` leaves out the rates and percentiles (the costly
        part, fine for a frame callback that reads only states and counts)."""
        with self._lock:
            latencies = list(self._latencies_ms) if figures else []
            return StatsSnapshot(
                input_fps=_rate(self._input_times_s) if figures else 0.0,
                output_fps=_rate(self._output_times_s) if figures else 0.0,
                frames_in=self._frames_in,
                frames_out=self._frames_out,
                dropped_frames=self._dropped,
                still_frames=self._still,
                latency_ms_p50=_percentile(latencies, 50),
                latency_ms_p95=_percentile(latencies, 95),
                stage_ms_p50=(
                    {k: _percentile(list(v), 50) for k, v in self._stage_ms.items()}
                    if figures else {}
                ),
                state=self._state,
                message=self._message,
                source_state=self._links[0][0],
                source_message=self._links[0][1],
                sink_state=self._links[1][0],
                sink_message=self._links[1][1],
            )


def _rate(times_s: collections.deque[float]) -> float:
    if len(times_s) < 2 or times_s[-1] <= times_s[0]:
        return 0.0
    return (len(times_s) - 1) / (times_s[-1] - times_s[0])


def _percentile(values: list[float], percent: float) -> float:
    return float(np.percentile(values, percent)) if values else 0.0


class MessageLog:
    """The pipeline's messages, numbered in order; readers ask for those after the last they
    saw, so a long run that keeps only the recent ones never hides a new one."""

    def __init__(self, keep: int = 100) -> None:
        self._lock = threading.Lock()
        self._entries: collections.deque[tuple[int, str]] = collections.deque(maxlen=keep)
        self._next_number = 0

    def add(self, message: str) -> None:
        with self._lock:
            self._entries.append((self._next_number, message))
            self._next_number += 1

    def since(self, number: int) -> tuple[list[str], int]:
        """The kept messages numbered `number` or later, and the number to ask for next."""
        with self._lock:
            fresh = [message for seen, message in self._entries if seen >= number]
            return fresh, self._next_number

    def recent(self) -> list[str]:
        """The kept messages, oldest first."""
        with self._lock:
            return [message for _number, message in self._entries]

    def __iter__(self) -> Iterator[str]:
        return iter(self.recent())

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
