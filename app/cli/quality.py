"""`backdrop quality`: Backdrop's alpha against the raw per-frame mask, on the same frames.

The raw mask is what a plain MediaPipe integration shows: each frame's confidence, bilinearly
upsampled, no smoothing, no refinement. Both alphas come from the same deterministic
VIDEO-mode segmentation, so every difference is Backdrop's own doing. On the demo, whose
truth is known, both are also scored against it (quality_truth.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.cli.args import UserError, positive_int, size_arg
from app.cli.quality_truth import TruthFigures, measure_truth
from app.devices.demo import DemoSource
from app.devices.demo_motion import DEMO_MOTIONS
from app.devices.frames import FrameSource, SourceError
from app.devices.sources import open_source
from app.settings import Settings
from compositing.alpha import alpha_from_u8
from compositing.backgrounds import BackgroundError
from compositing.downscale import halvings
from segmentation import quality
from segmentation.chain import AlphaChain
from segmentation.models import resolve_model
from segmentation.segmenter import VideoSegmenter, model_input
from segmentation.stillness import StillnessGate

_STRIP_FRAMES = 4
# Flicker needs two frames; lag compares offsets 0..5, so it needs seven.
MIN_STATIC_FRAMES = 2
MIN_MOVING_FRAMES = 7
_STRIP_HEIGHT_PX = 180


def add_quality_parser(commands: Any) -> None:

    parser = commands.add_parser("quality", help="measure flicker, lag and edge alignment")
    parser.add_argument("--source", default="demo", help="demo (default) or a video file")
    parser.add_argument("--static", action="store_true",
                        help="demo without motion (sensor noise only), for flicker")
    parser.add_argument("--motion", choices=DEMO_MOTIONS, default="sway",
                        help="how the demo moves: sway (rigid, default) or tilt (her head "
                             "tilts against her shoulders)")
    parser.add_argument("--frames", type=positive_int, default=90, help="frames (default 90)")
    parser.add_argument("--size", type=size_arg, default=(1280, 720), help="WxH (default 1280x720)")
    parser.add_argument("--out", type=Path, default=Path("quality"),
                        help="folder for the PNG strip and the mp4 (default ./quality)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--plot", type=Path, metavar="FILE.png",
                        help="draw the temporal error per frame and zoomed edges (demo only)")
    parser.set_defaults(handler=quality_command)


@dataclasses.dataclass
class QualityReport:
    source: str
    frames: int
    raw_flicker: float
    flicker: float
    raw_lag_frames: int | None
    lag_frames: int | None
    raw_edge_alignment: float
    edge_alignment: float
    # Against the demo's truth (None for other sources).
    raw_truth: TruthFigures | None = None
    truth: TruthFigures | None = None

    def pairs(self) -> dict[str, tuple[float, float]]:
        """(raw mask, Backdrop) for each figure but lag."""
        pairs = {"flicker": (self.raw_flicker, self.flicker),
                 "edge_alignment": (self.raw_edge_alignment, self.edge_alignment)}
        if self.raw_truth is not None and self.truth is not None:
            for name, *_ in _TRUTH_ROWS:
                pairs[name] = (getattr(self.raw_truth, name), getattr(self.truth, name))
        return pairs

    def ratios(self) -> dict[str, float | None]:
        """Backdrop's figure over the raw mask's, for each figure but lag."""
        return {name: _ratio(*pair) for name, pair in self.pairs().items()}

    def text(self) -> str:
        pairs = self.pairs()
        lines = [f"backdrop quality: {self.source}, {self.frames} frames",
                 "                      raw mask   Backdrop   Backdrop/raw",
                 _row("flicker", *pairs["flicker"], "8.2f", "lower")]
        if self.lag_frames is not None and self.raw_lag_frames is not None:
            lines.append(f"  lag (frames)        {self.raw_lag_frames:8d}   {self.lag_frames:8d}")
        else:
            lines.append("  lag (frames)        n/a on a static clip (nothing moves to trail "
                         "behind)")
        lines.append(_row("edge alignment", *pairs["edge_alignment"], "8.3f", "higher"))
        if "iou" in pairs:
            lines.append("  against the truth:")
            lines += [_row(label, *pairs[name], spec, better)
                      for name, label, spec, better in _TRUTH_ROWS]
        return "\n".join(lines)

    def as_json(self) -> str:
        return json.dumps(dataclasses.asdict(self) | {"ratios": self.ratios()}, indent=2)


# (field, label, format, which way is better) for the figures against the truth.
_TRUTH_ROWS = (
    ("iou", "IoU", "8.3f", "higher"),
    ("boundary_f", "boundary F", "8.3f", "higher"),
    ("dt", "dt (x100)", "8.2f", "lower"),
    ("edge_colour", "edge colour", "8.2f", "lower"),
    ("in_her_frame", "flicker, her frame", "8.2f", "lower"),
)


def _ratio(raw: float, ours: float) -> float | None:
    return ours / raw if raw else None


def _row(label: str, raw: float, ours: float, spec: str, better: str) -> str:
    ratio = _ratio(raw, ours)
    shown = f"{ratio:8.2f}" if ratio is not None else "       -"
    return f"  {label:<18}{raw:{spec}}   {ours:{spec}}   {shown}     ({better} is better)"


def quality_command(args: argparse.Namespace) -> int:

    width_px, height_px = args.size
    needed = MIN_STATIC_FRAMES if args.static else MIN_MOVING_FRAMES
    if args.frames < needed:
        raise UserError(f"--frames {args.frames} is too few: the report needs at least {needed}.")
    if args.source != "demo" and (args.motion != "sway" or args.plot is not None):
        raise UserError("--motion and --plot need the demo's known truth: use --source demo.")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create the folder '{args.out}': {error.strerror}.") from error
    try:
        source = _open(args, width_px, height_px)
    except SourceError as error:
        raise UserError(str(error)) from error
    settings = Settings()
    try:
        frames, raw, ours = collect_alphas(source, args.frames, settings, _Progress(args.frames))
        if len(frames) < needed:
            raise UserError(f"'{args.source}' gave only {len(frames)} frames; the report needs "
                            f"at least {needed}.")
        report = measure(frames, raw, ours, _describe(args), moving=not args.static)
        if isinstance(source, DemoSource):
            report.raw_truth, report.truth = _against_truth(frames, raw, ours, source, settings)
            if args.plot is not None:
                _plot(report, frames, raw, ours, source, settings, args.plot)
    finally:
        source.close()
    write_strip(frames, raw, ours, args.out / "quality_strip.png")
    write_video(frames, raw, ours, args.out / "quality.mp4")
    print(report.as_json() if args.json else report.text())
    print(f"pictures: {args.out / 'quality_strip.png'} and {args.out / 'quality.mp4'}",
          file=sys.stderr)
    return 0


def _against_truth(
    frames: list[np.ndarray], raw: list[np.ndarray], ours: list[np.ndarray],
    source: DemoSource, settings: Settings,
) -> tuple[TruthFigures, TruthFigures]:
    """Both alphas scored against the demo's truth."""
    try:
        raw_truth, truth = measure_truth(frames, [raw, ours], source.truth, settings,
                                         source.rest_map)
    except BackgroundError as error:
        raise UserError(f"the edge colour needs a bundled background: {error}") from error
    return raw_truth, truth


def _plot(
    report: QualityReport, frames: list[np.ndarray], raw: list[np.ndarray],
    ours: list[np.ndarray], source: DemoSource, settings: Settings, target: Path,
) -> None:
    """The --plot picture, with the zoomed edges taken from the middle frame."""
    from app.cli.quality_plot import plot_quality

    middle = len(frames) // 2
    try:
        plot_quality(report, frames[middle], {"raw mask": raw[middle], "Backdrop": ours[middle]},
                     source.truth(middle), settings, target)
    except OSError as error:
        raise UserError(f"cannot write the plot '{target}': {error.strerror}.") from error
    print(f"plot: {target}", file=sys.stderr)


def _describe(args: argparse.Namespace) -> str:
    motion = "static" if args.static else args.motion if args.source == "demo" else ""
    return f"{args.source}{f' ({motion})' if motion else ''} at {args.size[0]}x{args.size[1]}"


def _open(args: argparse.Namespace, width_px: int, height_px: int) -> FrameSource:
    if args.source == "demo":
        source: FrameSource = DemoSource(width_px, height_px, 30, static=args.static,
                                         paced=False, motion=args.motion)
    else:
        source = open_source(args.source, width_px, height_px, 30, paced=False)
    source.open()
    return source


def collect_alphas(
    source: FrameSource, count: int, settings: Settings, progress: Any = None
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Frames, raw alphas and Backdrop's alphas for `count` frames of `source` (an open
    source, which the caller closes). As live, a frame that shows nothing new since the last
    one refined reuses its alpha (the raw mask is every frame's own)."""
    spec = None
    segmenter: VideoSegmenter | None = None
    chain = AlphaChain(settings.mask.smoothing, settings.mask.refinement)
    stillness = StillnessGate()
    frames: list[np.ndarray] = []
    raw: list[np.ndarray] = []
    ours: list[np.ndarray] = []
    try:
        for index in range(count):
            frame = source.read(5.0)
            if frame is None:
                break
            frame_bgr = frame.image_bgr
            height_px, width_px = frame_bgr.shape[:2]
            if segmenter is None:
                spec = resolve_model(settings.mask.model, width_px, height_px)
                segmenter = VideoSegmenter(spec)
            assert spec is not None
            halves = halvings(frame_bgr, spec.input_size)  # exactly as the engine's stages do
            work_bgr = chain.work_frame(frame_bgr, halves)
            small_bgr = model_input(frame_bgr, spec.input_size, halves)
            confidence = segmenter.segment(cv2.cvtColor(small_bgr, cv2.COLOR_BGR2RGB), index * 33)
            raw.append(cv2.resize(confidence, (width_px, height_px)))
            small_gray = cv2.cvtColor(small_bgr, cv2.COLOR_BGR2GRAY)
            if ours and stillness.still(small_gray):
                ours.append(ours[-1])
            else:
                smoothed = chain.smooth(confidence, small_gray)
                alpha_u8 = chain.alpha(smoothed, frame_bgr, settings.mask.edge_softness, work_bgr)
                stillness.segmented(small_gray)
                ours.append(alpha_from_u8(alpha_u8))  # the metrics take float alphas in [0, 1]
            frames.append(frame_bgr)
            if progress is not None:
                progress(index + 1)
    finally:
        if segmenter is not None:
            segmenter.close()
    return frames, raw, ours


def measure(
    frames: list[np.ndarray],
    raw: list[np.ndarray],
    ours: list[np.ndarray],
    source: str,
    moving: bool = True,
) -> QualityReport:
    """The three figures for the raw mask and for Backdrop's alpha (lag only when moving)."""
    band = quality.edge_band(raw)
    return QualityReport(
        source=source,
        frames=len(frames),
        raw_flicker=quality.flicker(raw, band),
        flicker=quality.flicker(ours, band),
        raw_lag_frames=quality.lag(raw, raw) if moving else None,
        lag_frames=quality.lag(ours, raw) if moving else None,
        raw_edge_alignment=_mean_alignment(raw, frames),
        edge_alignment=_mean_alignment(ours, frames),
    )


def _mean_alignment(alphas: list[np.ndarray], frames: list[np.ndarray]) -> float:
    pairs = zip(alphas, frames, strict=True)
    return float(np.mean([quality.edge_alignment(alpha, frame) for alpha, frame in pairs]))


def _side_by_side(frame_bgr: np.ndarray, raw: np.ndarray, ours: np.ndarray) -> np.ndarray:
    """Frame, raw mask over a checkerboard-free grey, Backdrop's alpha over the same grey."""
    grey = np.full_like(frame_bgr, 128)
    panels = [frame_bgr]
    for alpha, label in ((raw, "raw mask"), (ours, "Backdrop")):
        weights = cv2.merge([alpha.astype(np.float32)] * 3)
        panel = (frame_bgr * weights + grey * (1.0 - weights)).astype(np.uint8)
        cv2.putText(panel, label, (16, 40), cv2.FONT_HERSHEY_DUPLEX, 1.2, (255, 255, 255), 2,
                    cv2.LINE_AA)
        panels.append(panel)
    return np.hstack(panels)


def write_strip(frames: list[np.ndarray], raw: list[np.ndarray], ours: list[np.ndarray],
                target: Path) -> None:
    """A PNG with a few frames: the input, the raw cut-out and Backdrop's cut-out."""
    picks = np.linspace(0, len(frames) - 1, min(_STRIP_FRAMES, len(frames))).astype(int)
    rows = []
    for index in picks:
        row = _side_by_side(frames[index], raw[index], ours[index])
        scale = _STRIP_HEIGHT_PX * 2 / row.shape[0]
        rows.append(cv2.resize(row, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(target), np.vstack(rows))


def write_video(frames: list[np.ndarray], raw: list[np.ndarray], ours: list[np.ndarray],
                target: Path) -> None:
    """The same comparison as a short mp4, to watch flicker and lag."""
    first = _side_by_side(frames[0], raw[0], ours[0])
    height_px, width_px = first.shape[0] // 2 * 2 // 2, first.shape[1] // 2 // 2 * 2
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), 30,
                             (width_px, height_px))
    try:
        for frame, raw_alpha, alpha in zip(frames, raw, ours, strict=True):
            side = _side_by_side(frame, raw_alpha, alpha)
            writer.write(cv2.resize(side, (width_px, height_px), interpolation=cv2.INTER_AREA))
    finally:
        writer.release()


class _Progress:
    """A text progress bar on stderr."""

    def __init__(self, total: int) -> None:
        self._total = total

    def __call__(self, done: int) -> None:
        filled = int(30 * done / self._total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{self._total} frames")
        if done == self._total:
            sys.stderr.write("\n")
        sys.stderr.flush()
