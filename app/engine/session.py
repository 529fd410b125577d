"""Build a ready-to-run pipeline from settings: the one path the CLI, bench and GUI share."""

from __future__ import annotations

from pathlib import Path

from app.clock import Clock, SystemClock
from app.devices.frames import SourceError
from app.devices.sinks import FrameSink, SinkError, open_sink
from app.devices.sources import open_source
from app.engine.pipeline import FrameCallback, Pipeline
from app.engine.schedules import RunMode
from app.settings import Settings
from compositing.backgrounds import BackgroundError
from segmentation.models import ASSETS_DIR, ModelError

BACKGROUNDS_DIR = ASSETS_DIR / "backgrounds"
_FILE_OUTPUTS = (".mp4", ".y4m")


class SessionError(Exception):
    """The pipeline could not start; the message says what to do."""


def bundled_backgrounds() -> list[Path]:
    """The backgrounds that ship with Backdrop, in a stable order."""
    return sorted(BACKGROUNDS_DIR.glob("*.jpg"))


def open_pipeline(
    settings: Settings,
    output: str,
    *,
    max_frames: int | None = None,
    clock: Clock | None = None,
    on_frame: FrameCallback | None = None,
    paced: bool | None = None,
    for_meeting: bool | None = None,
    output_size: tuple[int, int] | None = None,
) -> Pipeline:
    """Open source and sink for `settings`, start the pipeline, and return it running.

    A video file written to a file is transcoded, every frame; `paced` (default: otherwise)
    feeds frames at the source's rate, as a camera does; unpaced runs go for throughput.

    `for_meeting` (default: the output is the virtual camera; the window says so itself) is
    a session whose output a meeting sees: it is sent at the settings' output size for the
    whole session, a camera that cannot open is retried while the meeting gets a 'camera
    unavailable' card, and `auto` with no camera never falls back to the demo.
    `output_size` (default: the settings' for a meeting, else the source's) is the size every
    frame is fitted to before it is sent (the bench asks for a meeting's).
    Raises SessionError with a user-facing message for every input problem.
    """
    if for_meeting is None:
        for_meeting = output == "virtualcam"
    clock = clock or SystemClock()
    source_spec = settings.source.spec
    transcoding = Path(source_spec).is_file() and output.lower().endswith(_FILE_OUTPUTS)
    if paced is None:
        paced = not transcoding
    mode = (
        RunMode.EVERY_FRAME if transcoding
        else RunMode.LIVE if paced
        else RunMode.THROUGHPUT
    )
    try:
        source = open_source(
            source_spec, settings.source.width_px, settings.source.height_px,
            settings.source.fps, clock=clock, paced=paced, loop=not transcoding,
            demo_if_no_camera=not for_meeting,
        )
        sink = open_sink(output, settings.output.backend or None, settings.output.device or None)
    except (ModelError, SourceError, SinkError) as error:
        raise SessionError(str(error)) from error
    pipeline = Pipeline(
        with_default_background(settings), source, sink, clock=clock, on_frame=on_frame,
        mode=mode, max_frames=max_frames,
        output_size=output_size or (
            (settings.output.width_px, settings.output.height_px) if for_meeting else None
        ),
    )
    start(pipeline, source_must_open=not for_meeting)
    return pipeline


def start(pipeline: Pipeline, *, source_must_open: bool = True) -> None:
    """Start a pipeline, turning device and file errors into a SessionError."""
    try:
        pipeline.start(source_must_open=source_must_open)
    except (ModelError, SourceError, SinkError, BackgroundError) as error:
        raise SessionError(str(error)) from error


def with_default_background(settings: Settings) -> Settings:
    """An image effect with no image chosen uses the first bundled background."""
    import dataclasses

    if settings.effect.kind != "image" or settings.effect.background:
        return settings
    backgrounds = bundled_backgrounds()
    if not backgrounds:
        return settings
    effect = dataclasses.replace(settings.effect, background=str(backgrounds[0]))
    return dataclasses.replace(settings, effect=effect)




def open_virtualcam(settings: Settings, width_px: int, height_px: int, fps: int) -> FrameSink:
    """Open the virtual camera on its own (the GUI toggles it while the preview keeps running).

    Raises SessionError whose message carries the fix for this OS.
    """
    sink = open_sink("virtualcam", settings.output.backend or None, settings.output.device or None)
    try:
        sink.open(width_px, height_px, fps)
    except SinkError as error:
        raise SessionError(str(error)) from error
    return sink
