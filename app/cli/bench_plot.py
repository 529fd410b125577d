"""`backdrop bench --plot`: where each frame's time goes, and how latency is spread."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_bench(result: Any, target: Path) -> None:
    """Draw the per-stage frame-time breakdown (p50 and p95) and the latency histogram."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (stages_axes, latency_axes) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    # Paced, "read" is mostly waiting for the next frame: it would dwarf the real work.
    names = [name for name in result.stage_ms_p50 if not (result.paced_fps and name == "read")]
    p50 = [result.stage_ms_p50[name] for name in names]
    p95 = [result.stage_ms_p95[name] for name in names]
    positions = range(len(names))
    stages_axes.barh([p - 0.2 for p in positions], p50, height=0.4, label="p50")
    stages_axes.barh([p + 0.2 for p in positions], p95, height=0.4, label="p95")
    stages_axes.set_yticks(list(positions), names)
    stages_axes.invert_yaxis()
    _draw_floor(stages_axes, result)
    stages_axes.set_xlabel("milliseconds per frame")
    stages_axes.set_title(
        "Per-stage frame time" + (" (waiting for frames left out)" if result.paced_fps else "")
    )
    stages_axes.legend()
    latency_axes.hist(result.latencies_ms or [0.0], bins=40)
    latency_axes.axvline(result.latency_ms_p95, color="black", linestyle="--",
                         label=f"p95 {result.latency_ms_p95:.1f} ms")
    latency_axes.set_xlabel("capture-to-sink latency (ms)")
    latency_axes.set_ylabel("frames")
    latency_axes.set_title("Latency")
    latency_axes.legend()
    mode = f"paced {result.paced_fps} fps" if result.paced_fps else "unpaced"
    figure.suptitle(
        f"backdrop bench: {result.size} {result.effect}, {mode}: {result.fps:.1f} fps, "
        f"CPU {result.cpu_percent_of_one_core:.0f}% of one core, RSS {result.peak_rss_mb:.0f} MB, "
        f"{result.floor_ratio:.2f}x the model's floor"
    )
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    pyplot.close(figure)


def _draw_floor(axes: Any, result: Any) -> None:
    """The model's own inference CPU per frame (the floor) and the pipeline's whole CPU per
    frame, as vertical lines over the stage bars, so each stage reads against the floor."""
    if result.model_cpu_ms > 0:
        axes.axvline(result.model_cpu_ms, color="black", linestyle="--",
                     label=f"model floor {result.model_cpu_ms:.1f} ms CPU ({result.model})")
    if result.cpu_ms_per_frame > 0:
        axes.axvline(result.cpu_ms_per_frame, color="red", linestyle=":",
                     label=f"pipeline CPU {result.cpu_ms_per_frame:.1f} ms "
                     f"({result.floor_ratio:.2f}x the floor)")
