"""`backdrop bench`: throughput, per-stage cost, latency, CPU and memory of the real pipeline."""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.cli.args import (
    UserError,
    add_studio_arguments,
    positive_float,
    positive_int,
    size_arg,
    studio_changes,
)
from compositing.blur import BLUR_STYLES
from compositing.compositor import EFFECTS
from segmentation.refine import REFINEMENTS

if TYPE_CHECKING:  # the engine is imported when a bench runs, not for `backdrop --help`
    from app.engine.pipeline import Pipeline
    from app.settings import Settings

_WARM_UP_S = 1.0


def add_bench_parser(commands: Any) -> None:

    parser = commands.add_parser("bench", help="measure speed, latency, CPU and memory")
    parser.add_argument("--source", default="demo",
                        help="demo (default), demo-still (she sits still) or a video file")
    parser.add_argument("--size", type=size_arg, default=(1280, 720), help="WxH (default 1280x720)")
    parser.add_argument("--output-size", type=size_arg, metavar="WxH",
                        help="the size sent, each frame fitted to it as a meeting's virtual "
                        "camera is (default: the settings' default output, 1280x720)")
    parser.add_argument("--effect", choices=EFFECTS,
                        default="blur")
    parser.add_argument("--refinement", choices=REFINEMENTS)
    parser.add_argument("--model", help="auto (default), general, landscape or a path")
    parser.add_argument("--seconds", type=positive_float, default=10.0,
                        help="how long to measure, after a 1 s warm-up (default 10)")
    parser.add_argument("--paced", type=positive_int, metavar="FPS",
                        help="feed frames at this rate, as a camera would, to measure latency")
    parser.add_argument("--studio", action="store_true",
                        help="turn on every studio effect (framing, main person, portrait "
                        "blur, vignette 0.5, light 0.75, touch-up 0.7, denoise 0.6); each is "
                        "reported as its own stage, the face detector as 'face'")
    parser.add_argument("--blur-style", choices=BLUR_STYLES,
                        help="flat (default) or portrait: more blur further from you")
    add_studio_arguments(parser)  # one effect at a time, on top of --studio
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--plot", type=Path, metavar="FILE.png",
                        help="draw the per-stage breakdown and latency histogram")
    parser.set_defaults(handler=bench_command)


@dataclasses.dataclass
class BenchResult:
    command: str
    size: str
    effect: str
    output_size: str
    paced_fps: int | None
    frames: int
    fps: float
    cpu_percent_of_one_core: float
    peak_rss_mb: float
    first_frame_ms: float
    launch_to_first_frame_ms: float | None
    latency_ms_p50: float
    latency_ms_p95: float
    dropped_frames: int
    # Frames that showed nothing new and reused the last alpha (no inference, no refinement).
    still_frames: int
    stage_ms_p50: dict[str, float]
    stage_ms_p95: dict[str, float]
    # The mean shows what a stage that works on some frames only (the face detector, every 4th)
    # costs on average, which its p50 hides.
    stage_ms_mean: dict[str, float] = dataclasses.field(default_factory=dict)
    # The floor: the model's own inference, measured alone in this run on the same frames, fed
    # as the run was (at its paced rate, or back to back), and back to back as well.
    model: str = ""
    model_cpu_ms: float = 0.0
    model_cpu_ms_back_to_back: float = 0.0
    # The demo source's own drawing, alone (0 for a video file): a camera's decoding costs
    # instead, so the pipeline's cost without it is reported against the floor as well.
    source_cpu_ms: float = 0.0
    floor_ratio_without_source: float = 0.0
    cpu_ms_per_frame: float = 0.0
    floor_ratio: float = 0.0  # the pipeline's CPU per frame over the model's own
    fps_per_cpu_s: float = 0.0  # frames per second of CPU: fair to peers with fewer threads
    latencies_ms: list[float] = dataclasses.field(default_factory=list, repr=False)

    def text(self) -> str:
        lines = [
            f"backdrop bench: {self.size} {self.effect}, sent at {self.output_size}, "
            + (f"paced at {self.paced_fps} fps" if self.paced_fps else "unpaced"),
            f"  throughput       {self.fps:7.1f} fps over {self.frames} frames",
            f"  CPU              {self.cpu_percent_of_one_core:7.1f} % of one core, "
            f"{self.cpu_ms_per_frame:.1f} ms a frame ({self.fps_per_cpu_s:.0f} frames per CPU-s)",
            f"  model floor      {self.model_cpu_ms:7.2f} ms of CPU a frame ({self.model} "
            f"inference alone{self._floor_feed()})",
            f"                   the pipeline costs {self.floor_ratio:.2f}x that"
            + (f"; {self.floor_ratio_without_source:.2f}x without the demo's drawing "
               f"({self.source_cpu_ms:.2f} ms a frame alone)" if self.source_cpu_ms else ""),
            f"  peak RSS         {self.peak_rss_mb:7.1f} MB",
            f"  first frame      {self.first_frame_ms:7.1f} ms after the pipeline started"
            + (f", {self.launch_to_first_frame_ms:.0f} ms after launch"
               if self.launch_to_first_frame_ms is not None else ""),
            f"  latency          p50 {self.latency_ms_p50:.1f} ms, p95 {self.latency_ms_p95:.1f} ms"
            " (capture to sink)",
            f"  dropped frames   {self.dropped_frames}",
            f"  still frames     {self.still_frames} (nothing moved: the last alpha reused)",
            "  stage ms         p50     p95    mean",
        ]
        for name, p50 in self.stage_ms_p50.items():
            lines.append(f"    {name:<14} {p50:6.2f}  {self.stage_ms_p95[name]:6.2f}  "
                         f"{self.stage_ms_mean.get(name, 0.0):6.2f}")
        return "\n".join(lines)

    def _floor_feed(self) -> str:
        if not self.paced_fps:
            return ", back to back"
        return (f", fed at {self.paced_fps:g} fps; {self.model_cpu_ms_back_to_back:.2f} ms "
                "back to back")


def bench_command(args: argparse.Namespace) -> int:

    try:
        result = run_bench(args)
    except Exception as error:  # a bench that cannot start says why, briefly
        from app.engine.session import SessionError

        if isinstance(error, SessionError):
            raise UserError(str(error)) from error
        raise
    figures = dataclasses.asdict(result)
    figures.pop("latencies_ms")
    print(json.dumps(figures, indent=2) if args.json else result.text())
    if args.plot is not None:
        from app.cli.bench_plot import plot_bench

        plot_bench(result, args.plot)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


def run_bench(args: argparse.Namespace) -> BenchResult:
    from app.engine.session import open_pipeline
    from app.settings import Settings

    # Defaults, not the user's saved settings, so figures compare between machines.
    settings = _bench_settings(Settings(), args)
    started_s = time.perf_counter()
    output_size = args.output_size or (settings.output.width_px, settings.output.height_px)
    pipeline = open_pipeline(settings, "null", paced=bool(args.paced), output_size=output_size)
    pipeline.stats.keep_history = True  # the warm-up below is cut from the figures anyway
    try:
        while pipeline.snapshot().frames_out == 0 and not pipeline.wait(0.002):
            pass
        first_frame_ms = (time.perf_counter() - started_s) * 1000.0
        launch_age_s = process_age_s()
        time.sleep(_WARM_UP_S)
        _wait_for_the_face_detector(pipeline, settings)
        before = pipeline.snapshot()
        frames_before = before.frames_out
        marks = {name: len(v) for name, v in pipeline.stats.all_stage_ms.items()}
        latency_mark = len(pipeline.stats.all_latencies_ms)
        cpu_before_s, wall_before_s = time.process_time(), time.perf_counter()
        pipeline.wait(args.seconds)
        cpu_s, wall_s = time.process_time() - cpu_before_s, time.perf_counter() - wall_before_s
        frames = pipeline.snapshot().frames_out - frames_before
        snapshot = pipeline.snapshot()
    finally:
        pipeline.stop()
    # The pipeline's peak, read before the floor below builds a demo and a model of its own.
    peak_rss_mb = peak_rss_mb_so_far()
    if pipeline.error is not None:
        raise RuntimeError(f"the pipeline stopped: {pipeline.error}")
    stages = {name: values[marks.get(name, 0):]
              for name, values in pipeline.stats.all_stage_ms.items()}
    latencies = pipeline.stats.all_latencies_ms[latency_mark:]
    model, model_cpu_ms, back_to_back_ms = measure_model_floor(settings, args.size, args.paced)
    cpu_ms_per_frame = 1000.0 * cpu_s / max(frames, 1)
    source_cpu_ms = measure_demo_cpu_ms(settings.source, args.paced)
    return BenchResult(
        command="backdrop " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else "bench",
        size=f"{args.size[0]}x{args.size[1]}",
        effect=args.effect,
        output_size=f"{output_size[0]}x{output_size[1]}",
        paced_fps=args.paced,
        frames=frames,
        fps=frames / wall_s,
        cpu_percent_of_one_core=100.0 * cpu_s / wall_s,
        peak_rss_mb=peak_rss_mb,
        first_frame_ms=first_frame_ms,
        launch_to_first_frame_ms=None if launch_age_s is None else launch_age_s * 1000.0,
        latency_ms_p50=_pct(latencies, 50),
        latency_ms_p95=_pct(latencies, 95),
        dropped_frames=snapshot.dropped_frames,
        still_frames=snapshot.still_frames - before.still_frames,
        stage_ms_p50={name: _pct(v, 50) for name, v in stages.items()},
        stage_ms_p95={name: _pct(v, 95) for name, v in stages.items()},
        stage_ms_mean={name: sum(v) / len(v) for name, v in stages.items() if v},
        model=model,
        model_cpu_ms=model_cpu_ms,
        model_cpu_ms_back_to_back=back_to_back_ms,
        cpu_ms_per_frame=cpu_ms_per_frame,
        floor_ratio=cpu_ms_per_frame / model_cpu_ms if model_cpu_ms > 0 else 0.0,
        source_cpu_ms=source_cpu_ms,
        floor_ratio_without_source=(
            (cpu_ms_per_frame - source_cpu_ms) / model_cpu_ms
            if model_cpu_ms > 0 and source_cpu_ms > 0 else 0.0),
        fps_per_cpu_s=frames / cpu_s if cpu_s > 0 else 0.0,
        latencies_ms=list(latencies),
    )


def _wait_for_the_face_detector(
    pipeline: Pipeline, settings: Settings, timeout_s: float = 30.0
) -> None:
    """Light and touch-up start once their face detector is built on its helper (most of a
    second): measure from then, so their stages are in the figures."""
    if not settings.studio.follows_the_face:
        return
    deadline_s = time.monotonic() + timeout_s
    while "face" not in pipeline.stats.all_stage_ms and time.monotonic() < deadline_s:
        if pipeline.wait(0.05):
            return


def measure_model_floor(
    settings: Any, size: tuple[int, int], paced_fps: float | None = None, frames: int = 90
) -> tuple[str, float, float]:
    """The model the pipeline used and its inference CPU per frame, alone: fed as the run was
    fed (at `paced_fps`, or back to back), and back to back. VIDEO mode on the demo's model-size
    inputs, prepared beforehand, so nothing but inference is counted.

    Fed at a camera's rate the same inference costs more CPU than back to back (about 3.4
    against 2.0 ms for the landscape model on the 2-core development machine): between frames
    MediaPipe's threads sleep and its caches go cold. A paced run's floor is the paced figure.
    """
    import cv2

    from app.devices.demo import DemoRenderer
    from segmentation.models import resolve_model
    from segmentation.segmenter import VideoSegmenter, model_input

    spec = resolve_model(settings.mask.model, *size)
    renderer = DemoRenderer(*size)
    inputs = [
        cv2.cvtColor(model_input(renderer.render(index / 30.0), spec.input_size),
                     cv2.COLOR_BGR2RGB)
        for index in range(min(frames, 30))
    ]
    segmenter = VideoSegmenter(spec)
    timestamps = itertools.count()
    try:
        for index in range(10):  # the graph's first runs allocate
            segmenter.segment(inputs[index % len(inputs)], next(timestamps))
        def infer(index: int) -> object:
            return segmenter.segment(inputs[index % len(inputs)], next(timestamps))

        back_to_back_ms = _cpu_ms_per_call(infer, frames, None)
        as_run_ms = back_to_back_ms
        if paced_fps:
            paced_frames = max(1, min(frames, round(2.0 * paced_fps)))  # two seconds
            as_run_ms = _cpu_ms_per_call(infer, paced_frames, paced_fps)
    finally:
        segmenter.close()
    return spec.name, as_run_ms, back_to_back_ms


def measure_demo_cpu_ms(source: Any, paced_fps: float | None, frames: int = 60) -> float:
    """CPU per frame of drawing the run's demo frames alone (as the run was fed), or 0.0 when
    the source is not the demo."""
    from app.devices.demo import DemoRenderer

    if source.spec not in ("demo", "demo-still"):
        return 0.0
    renderer = DemoRenderer(source.width_px, source.height_px, static=source.spec == "demo-still")
    fps = paced_fps or 30.0
    return _cpu_ms_per_call(lambda index: renderer.render(index / fps), frames, paced_fps)


def _cpu_ms_per_call(work: Callable[[int], object], calls: int, paced_fps: float | None) -> float:
    """CPU per call of `work(0)`, `work(1)`, ..., one every 1/paced_fps seconds or back to
    back."""
    started_s, cpu_started_s = time.perf_counter(), time.process_time()
    for index in range(calls):
        work(index)
        if paced_fps:
            time.sleep(max(0.0, started_s + (index + 1) / paced_fps - time.perf_counter()))
    return 1000.0 * (time.process_time() - cpu_started_s) / calls


def _bench_settings(settings: Any, args: argparse.Namespace) -> Any:
    source = dataclasses.replace(
        settings.source, spec=args.source, width_px=args.size[0], height_px=args.size[1],
        fps=args.paced or 30,
    )
    effect = dataclasses.replace(settings.effect, kind=args.effect)
    studio = settings.studio
    if args.studio:
        effect = dataclasses.replace(effect, blur_style="portrait")
        studio = dataclasses.replace(studio, framing="auto", main_person=True, vignette=0.5,
                                     light=0.75, touch_up=0.7, denoise=0.6)
    if args.blur_style:
        effect = dataclasses.replace(effect, blur_style=args.blur_style)
    try:
        studio = dataclasses.replace(studio, **studio_changes(args))
    except (ValueError, TypeError) as error:
        raise UserError(str(error)) from error
    mask = settings.mask
    if args.refinement:
        mask = dataclasses.replace(mask, refinement=args.refinement)
    if args.model:
        mask = dataclasses.replace(mask, model=args.model)
    return dataclasses.replace(settings, source=source, effect=effect, mask=mask, studio=studio)


def peak_rss_mb_so_far() -> float:
    """The most resident memory this process has had, in MB (the kernel's high-water mark).

    Linux: VmHWM, this program's own. getrusage's ru_maxrss also keeps the peak of what ran in
    the process before exec: started from a 250 MB parent (a test runner, an IDE) through
    vfork, it reported the parent's 250 MB.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, IndexError, ValueError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0  # bytes there, KiB here


def process_age_s() -> float | None:
    """Seconds since this process was launched (Linux, from /proc), else None."""
    try:
        stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    start_ticks = int(stat[19])  # field 22, starttime, counted after the ")" of the name
    return uptime_s - start_ticks / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], percent: float) -> float:
    return float(np.percentile(values, percent)) if values else 0.0
