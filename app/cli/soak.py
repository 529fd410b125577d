"""`backdrop soak`: run the demo, paced like a camera, into the null sink for minutes on end.

Every interval it prints resident memory, open file descriptors, threads and frame rate. The
first sample (after one interval of warm-up) is the baseline: at the end memory must not have
grown by more than a limit, and descriptors and threads not at all, or the command fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

from app.cli.args import UserError, positive_float, positive_int, size_arg
from compositing.compositor import EFFECTS

_PROC_SELF = Path("/proc/self")


def add_soak_parser(commands: Any) -> None:

    parser = commands.add_parser(
        "soak", help="run for minutes and report memory, descriptors, threads and fps"
    )
    parser.add_argument("--minutes", type=positive_float, default=30.0,
                        help="how long to run (default 30)")
    parser.add_argument("--interval-seconds", type=positive_float, default=60.0,
                        help="time between reports; the first one is the warm-up (default 60)")
    parser.add_argument("--size", type=size_arg, default=(1280, 720), help="WxH (default 1280x720)")
    parser.add_argument("--fps", type=positive_int, default=30, help="frame rate (default 30)")
    parser.add_argument("--effect", choices=EFFECTS, default="blur")
    parser.add_argument("--max-rss-growth-mb", type=positive_float, default=20.0,
                        help="memory growth after warm-up that fails the run (default 20)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(handler=soak_command)


@dataclasses.dataclass(frozen=True)
class SoakSample:
    """The process at one moment of the run."""

    elapsed_s: float
    rss_mb: float
    open_fds: int
    threads: int
    fps: float
    cpu_percent_of_one_core: float
    frames_out: int

    def text(self) -> str:
        return (
            f"{self.elapsed_s / 60:6.1f} min  RSS {self.rss_mb:7.1f} MB  fds {self.open_fds:4d}  "
            f"threads {self.threads:3d}  {self.fps:5.1f} fps  "
            f"CPU {self.cpu_percent_of_one_core:5.1f} %"
        )


@dataclasses.dataclass
class SoakResult:
    """All samples and the verdict; growth is last sample minus the warm-up sample."""

    size: str
    effect: str
    samples: list[SoakSample]
    max_rss_growth_mb: float
    error: str = ""

    @property
    def rss_growth_mb(self) -> float:
        return self.samples[-1].rss_mb - self.samples[0].rss_mb if self.samples else 0.0

    @property
    def fd_growth(self) -> int:
        return self.samples[-1].open_fds - self.samples[0].open_fds if self.samples else 0

    @property
    def thread_growth(self) -> int:
        return self.samples[-1].threads - self.samples[0].threads if self.samples else 0

    @property
    def passed(self) -> bool:
        return (not self.error and len(self.samples) >= 2
                and self.rss_growth_mb < self.max_rss_growth_mb
                and self.fd_growth <= 0 and self.thread_growth <= 0)

    def summary(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        lines = [
            f"backdrop soak: {verdict} ({self.size} {self.effect}, {len(self.samples)} samples)",
            f"  RSS growth after warm-up  {self.rss_growth_mb:+.1f} MB "
            f"(limit {self.max_rss_growth_mb:g} MB)",
            f"  open descriptors          {self.fd_growth:+d}",
            f"  threads                   {self.thread_growth:+d}",
        ]
        if self.error:
            lines.append(f"  the pipeline stopped: {self.error}")
        elif len(self.samples) < 2:
            lines.append("  too short: run for at least two intervals")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size, "effect": self.effect, "passed": self.passed,
            "error": self.error, "max_rss_growth_mb": self.max_rss_growth_mb,
            "rss_growth_mb": self.rss_growth_mb, "fd_growth": self.fd_growth,
            "thread_growth": self.thread_growth,
            "samples": [dataclasses.asdict(sample) for sample in self.samples],
        }


def process_figures() -> tuple[float, int, int]:
    """(resident MB, open file descriptors, threads) of this process.

    Linux reads /proc (native threads, MediaPipe's included); elsewhere peak RSS, /dev/fd and
    Python's threads stand in.
    """
    status = _PROC_SELF / "status"
    if status.exists():
        fields = dict(
            line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
        )
        rss_mb = int(fields["VmRSS"].split()[0]) / 1024.0
        threads = int(fields["Threads"])
        open_fds = len(os.listdir(_PROC_SELF / "fd")) - 1  # minus the listing's own
        return rss_mb, open_fds, threads
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0
    fd_dir = Path("/dev/fd")
    open_fds = len(os.listdir(fd_dir)) - 1 if fd_dir.is_dir() else -1
    return rss_mb, open_fds, threading.active_count()


def run_soak(args: argparse.Namespace, on_sample: Any = None) -> SoakResult:
    """Run the paced demo into the null sink and sample the process every interval."""
    from app.engine.session import open_pipeline

    settings = _soak_settings(args)
    result = SoakResult(f"{args.size[0]}x{args.size[1]}", args.effect, [], args.max_rss_growth_mb)
    started_s = time.monotonic()
    pipeline = open_pipeline(settings, "null", paced=True)
    try:
        frames_before, cpu_before_s, wall_before_s = 0, time.process_time(), started_s
        deadline_s = started_s + args.minutes * 60.0
        while time.monotonic() < deadline_s - 0.5:
            if pipeline.wait(min(args.interval_seconds, deadline_s - time.monotonic())):
                break  # the worker ended by itself: an error
            now_s, cpu_s = time.monotonic(), time.process_time()
            frames = pipeline.snapshot().frames_out
            rss_mb, open_fds, threads = process_figures()
            sample = SoakSample(
                now_s - started_s, rss_mb, open_fds, threads,
                (frames - frames_before) / (now_s - wall_before_s),
                100.0 * (cpu_s - cpu_before_s) / (now_s - wall_before_s), frames,
            )
            result.samples.append(sample)
            if on_sample is not None:
                on_sample(sample)
            frames_before, cpu_before_s, wall_before_s = frames, cpu_s, now_s
    finally:
        pipeline.stop()
    if pipeline.error is not None:
        result.error = str(pipeline.error)
    return result


def _soak_settings(args: argparse.Namespace) -> Any:
    """The defaults (not the user's saved settings), so runs compare between machines."""
    from app.settings import Settings

    settings = Settings()
    source = dataclasses.replace(settings.source, spec="demo", width_px=args.size[0],
                                 height_px=args.size[1], fps=args.fps)
    effect = dataclasses.replace(settings.effect, kind=args.effect)
    return dataclasses.replace(settings, source=source, effect=effect)


def soak_command(args: argparse.Namespace) -> int:
    from app.engine.session import SessionError

    if not args.json:
        print(f"backdrop soak: demo at {args.size[0]}x{args.size[1]} {args.fps} fps, "
              f"{args.effect}, {args.minutes:g} min, a report every "
              f"{args.interval_seconds:g} s", flush=True)
    try:
        result = run_soak(args, None if args.json else lambda s: print(s.text(), flush=True))
    except SessionError as error:
        raise UserError(str(error)) from error
    print(json.dumps(result.as_dict(), indent=2) if args.json else result.summary())
    return 0 if result.passed else 1
