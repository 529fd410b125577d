"""`backdrop quality`: Backdrop's alpha against the raw per-frame mask, on the same frames.

The raw mask is what a plain MediaPipe integration shows: each frame's confidence, bilinearly
upsampled, no smoothing, no refinement. Both alphas come from the same deterministic
VIDEO-mode segmentation, so every difference is Backdrop's own doing.
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
from app.devices.frames import FrameSource, SourceError
from app.devices.sources import open_source
from app.settings import Settings
from compositing.alpha import alpha_from_u8
from segmentation import quality
from segmentation.chain import AlphaChain
from segmentation.models import resolve_model
from segmentation.segmenter import VideoSegmenter, model_input

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
    parser.add_argument("--frames", type=positive_int, default=90, help="frames (default 90)")
    parser.add_argument("--size", type=size_arg, default=(1280, 720), help="WxH (default 1280x720)")
    parser.add_argument("--out", type=Path, default=Path("quality"),
                        help="folder for the PNG strip and the mp4 (default ./quality)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
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

    @property
    def flicker_reduction_percent(self) -> float:
        return 100.0 * (1.0 - self.flicker / self.raw_flicker) if self.raw_flicker else 0.0

    def _flicker_change(self) -> str:
        reduction = self.flicker_reduction_percent
        return f"{reduction:.0f}% lower" if reduction >= 0 else f"{-reduction:.0f}% higher"

    def text(self) -> str:
        return "\n".join([
            f"backdrop quality: {self.source}, {self.frames} frames",
            "                    raw mask   Backdrop",
            f"  flicker           {self.raw_flicker:8.2f}   {self.flicker:8.2f}"
            f"   ({self._flicker_change()})",
            (f"  lag (frames)      {self.raw_lag_frames:8d}   {self.lag_frames:8d}"
             if self.lag_frames is not None and self.raw_lag_frames is not None
             else "  lag (frames)      n/a on a static clip (nothing moves to trail behind)"),
            f"  edge alignment    {self.raw_edge_alignment:8.3f}   {self.edge_alignment:8.3f}",
        ])


def quality_command(args: argparse.Namespace) -> int:

    width_px, height_px = args.size
    needed = MIN_STATIC_FRAMES if args.static else MIN_MOVING_FRAMES
    if args.frames < needed:
        raise UserError(f"--frames {args.frames} is too few: the report needs at least {needed}.")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create the folder '{args.out}': {error.strerror}.") from error
    try:
        source = _open(args.source, width_px, height_px, args.static)
    except SourceError as error:
        raise UserError(str(error)) from error
    frames, raw, ours = collect_alphas(source, args.frames, Settings(), _Progress(args.frames))
    if len(frames) < needed:
        raise UserError(f"'{args.source}' gave only {len(frames)} frames; the report needs "
                        f"at least {needed}.")
    report = measure(frames, raw, ours, _describe(args), moving=not args.static)
    write_strip(frames, raw, ours, args.out / "quality_strip.png")
    write_video(frames, raw, ours, args.out / "quality.mp4")
    print(json.dumps(dataclasses.asdict(report), indent=2) if args.json else report.text())
    print(f"pictures: {args.out / 'quality_strip.png'} and {args.out / 'quality.mp4'}",
          file=sys.stderr)
    return 0


def _describe(args: argparse.Namespace) -> str:
    static = " (static)" if args.static else ""
    return f"{args.source}{static} at {args.size[0]}x{args.size[1]}"


def _open(spec: str, width_px: int, height_px: int, static: bool) -> FrameSource:
    if spec == "demo":
        from app.devices.demo import DemoSource

        source: FrameSource = DemoSource(width_px, height_px, 30, static=static, paced=False)
    else:
        source = open_source(spec, width_px, height_px, 30, paced=False)
    source.open()
    return source


def collect_alphas(
    source: FrameSource, count: int, settings: Settings, progress: Any = None
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Frames, raw alphas and Backdrop's alphas for `count` frames of `source`."""
    spec = None
    segmenter: VideoSegmenter | None = None
    chain = AlphaChain(settings.mask.smoothing, settings.mask.refinement)
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
            work_bgr = chain.work_frame(frame_bgr)  # exactly as the engine's stages prepare it
            half_bgr = None if work_bgr is frame_bgr else work_bgr
            small_bgr = model_input(frame_bgr, spec.input_size, half_bgr)
            confidence = segmenter.segment(cv2.cvtColor(small_bgr, cv2.COLOR_BGR2RGB), index * 33)
            raw.append(cv2.resize(confidence, (width_px, height_px)))
            smoothed = chain.smooth(confidence, cv2.cvtColor(small_bgr, cv2.COLOR_BGR2GRAY))
            alpha_u8 = chain.alpha(smoothed, frame_bgr, settings.mask.edge_softness, work_bgr)
            ours.append(alpha_from_u8(alpha_u8))  # the metrics take float alphas in [0, 1]
            frames.append(frame_bgr)
            if progress is not None:
                progress(index + 1)
    finally:
        source.close()
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
