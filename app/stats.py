"""Frame-rate, drop, per-stage timing and latency figures for the status line and bench."""

from __future__ import annotations

import collections
import dataclasses
import threading

import numpy as np

# Rates and percentiles are taken over the most recent frames only, so they follow changes.
_WINDOW_FRAMES = 120


@dataclasses.dataclass(frozen=True)
class StatsSnapshot:
    """What the status line, the GUI's status bar and `backdrop bench` show."""

    input_fps: float = 0.0
    output_fps: float = 0.0
    frames_in: int = 0
    frames_out: int = 0
    dropped_frames: int = 0
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    stage_ms_p50: dict[str, float] = dataclasses.field(default_factory=dict)
    state: str = "starting"
    message: str = ""

    def status_line(self) -> str:
        """One line for a terminal: fps, latency, drops, and any message."""
        line = (
            f"{self.output_fps:5.1f} fps out ({self.input_fps:5.1f} in) | "
            f"latency {self.latency_ms_p50:5.1f} ms (p95 {self.latency_ms_p95:5.1f}) | "
            f"dropped {self.dropped_frames}"
        )
        return f"{line} | {self.message}" if self.message else line


class PipelineStats:
    """Thread-safe accumulator; the worker records, anyone may take a snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._input_times_s: collections.deque[float] = collections.deque(maxlen=_WINDOW_FRAMES)
        self._output_times_s: collections.deque[float] = collections.deque(maxlen=_WINDOW_FRAMES)
        self._latencies_ms: collections.deque[float] = collections.deque(maxlen=_WINDOW_FRAMES)
        self._stage_ms: dict[str, collections.deque[float]] = {}
        self.all_latencies_ms: list[float] = []
        self.all_stage_ms: dict[str, list[float]] = {}
        self._frames_in = 0
        self._frames_out = 0
        self._dropped = 0
        self._state = "starting"
        self._message = ""

    def frame_in(self, now_s: float) -> None:
        with self._lock:
            self._frames_in += 1
            self._input_times_s.append(now_s)

    def frame_out(self, now_s: float, latency_ms: float) -> None:
        with self._lock:
            self._frames_out += 1
            self._output_times_s.append(now_s)
            self._latencies_ms.append(latency_ms)
            self.all_latencies_ms.append(latency_ms)

    def dropped(self, count: int = 1) -> None:
        with self._lock:
            self._dropped += count

    def stage(self, name: str, milliseconds: float) -> None:
        with self._lock:
            self._stage_ms.setdefault(name, collections.deque(maxlen=_WINDOW_FRAMES)).append(
                milliseconds
            )
            self.all_stage_ms.setdefault(name, []).append(milliseconds)

    def set_state(self, state: str, message: str = "") -> None:
        with self._lock:
            self._state = state
            self._message = message

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            latencies = list(self._latencies_ms)
            return StatsSnapshot(
                input_fps=_rate(self._input_times_s),
                output_fps=_rate(self._output_times_s),
                frames_in=self._frames_in,
                frames_out=self._frames_out,
                dropped_frames=self._dropped,
                latency_ms_p50=_percentile(latencies, 50),
                latency_ms_p95=_percentile(latencies, 95),
                stage_ms_p50={k: _percentile(list(v), 50) for k, v in self._stage_ms.items()},
                state=self._state,
                message=self._message,
            )


def _rate(times_s: collections.deque[float]) -> float:
    if len(times_s) < 2 or times_s[-1] <= times_s[0]:
        return 0.0
    return (len(times_s) - 1) / (times_s[-1] - times_s[0])


def _percentile(values: list[float], percent: float) -> float:
    return float(np.percentile(values, percent)) if values else 0.0
