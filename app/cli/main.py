"""`backdrop`: the command line. With no command it opens the window."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from app.cli.args import (
    EXIT_USAGE,
    UserError,
    add_studio_arguments,
    positive_float,
    positive_int,
    rgb_arg,
    size_arg,
    studio_changes,
)
from app.clock import SystemClock
from app.memory import limit_malloc_arenas
from app.presets import find_preset, load_presets
from app.settings import Settings, SettingsError, load_settings, save_settings
from compositing.blur import BLUR_STYLES
from compositing.compositor import EFFECTS
from compositing.fit import FITS
from segmentation.refine import REFINEMENTS


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `backdrop` console script."""
    limit_malloc_arenas()  # before any frame thread starts
    args = build_parser().parse_args(argv)
    _configure_logging(getattr(args, "debug", False))
    _keep_matplotlib_cache_in_config_dir()
    handler = getattr(args, "handler", None)
    try:
        if handler is None:
            return _open_window()
        return int(handler(args))
    except UserError as error:
        print(f"backdrop: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("backdrop: interrupted", file=sys.stderr)
        return 130


def _keep_matplotlib_cache_in_config_dir() -> None:
    """matplotlib (`bench --plot`, `quality --plot`, and MediaPipe's drawing helpers if
    anything loads them) writes a font cache under ~/.cache and ~/.config; point it into
    Backdrop's own config directory, so Backdrop writes nowhere else."""
    if "MPLCONFIGDIR" not in os.environ:
        from app.settings import default_settings_path

        os.environ["MPLCONFIGDIR"] = str(default_settings_path().parent / "matplotlib")


def _configure_logging(debug: bool) -> None:
    """One line per warning on stderr; tracebacks only with --debug."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter("backdrop: %(message)s", show_traceback=debug))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler],
                        force=True)


class _OneLineFormatter(logging.Formatter):
    def __init__(self, fmt: str, show_traceback: bool) -> None:
        super().__init__(fmt)
        self._show_traceback = show_traceback

    def format(self, record: logging.LogRecord) -> str:
        if self._show_traceback:
            return super().format(record)
        error = f": {record.exc_info[1]}" if record.exc_info and record.exc_info[1] else ""
        return f"backdrop: {record.getMessage()}{error}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backdrop",
        description="A better webcam background: blur or replace it, and send the result "
        "to a virtual camera that Zoom, Meet, Teams or OBS can select.",
        epilog="Run without a command to open the window.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    run = commands.add_parser("run", help="run headless: source to virtual camera or file")
    add_pipeline_arguments(run)
    limit = run.add_mutually_exclusive_group()
    limit.add_argument("--frames", type=positive_int, help="stop after N output frames")
    limit.add_argument("--seconds", type=positive_float, help="stop after S seconds")
    run.add_argument("--quiet", action="store_true", help="no live status line")
    run.set_defaults(handler=_run_command)

    devices = commands.add_parser("devices", help="list cameras and virtual-camera backends")
    devices.set_defaults(handler=_devices_command)

    from app.cli.bench import add_bench_parser
    from app.cli.doctor import add_doctor_parser
    from app.cli.quality import add_quality_parser
    from app.cli.soak import add_soak_parser
    from app.devices.virtualcam_setup import add_setup_parser

    add_bench_parser(commands)
    add_doctor_parser(commands)
    add_quality_parser(commands)
    add_setup_parser(commands)
    add_soak_parser(commands)
    return parser


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that override settings for one run (shared by run and bench)."""
    parser.add_argument("--source", help="camera, camera:N, a device path, a video file, or demo")
    parser.add_argument("--effect", choices=EFFECTS)
    parser.add_argument("--background", help="background image (or video, with --effect video)")
    parser.add_argument("--color", type=rgb_arg, help="background colour as R,G,B (0-255)")
    parser.add_argument("--blur", type=int, help="blur strength 0-100")
    parser.add_argument("--blur-style", choices=BLUR_STYLES,
                        help="flat: the same blur everywhere; portrait: more blur further "
                        "from you, as a phone's portrait mode")
    parser.add_argument("--smoothing", type=float, help="temporal smoothing 0 (off) to 1")
    parser.add_argument("--edge", type=float, help="edge softness 0 to 1")
    parser.add_argument("--refinement", choices=REFINEMENTS, help="edge refinement")
    parser.add_argument("--light-wrap", type=float, help="light wrap 0 to 1 (image backgrounds)")
    parser.add_argument("--model", help="auto, general, landscape, or a .tflite path")
    parser.add_argument("--mirror-output", action=argparse.BooleanOptionalAction, default=None,
                        help="send a mirrored picture (the meeting sees you as in a mirror; "
                        "off by default, so text reads the right way round)")
    parser.add_argument("--size", type=size_arg, help="capture size WxH, e.g. 1280x720")
    parser.add_argument("--fps", type=positive_int, help="capture frame rate")
    parser.add_argument("--output", help="virtualcam (default), a .mp4 or .y4m path, or null")
    parser.add_argument("--output-size", type=size_arg,
                        help="the size the virtual camera sends, for the whole run (default "
                        "1280x720); frames of another size are fitted into it")
    add_studio_arguments(parser)
    parser.add_argument("--fit", choices=FITS,
                        help="how other sizes are fitted: letterbox (all of the picture, with "
                        "bars; default) or cover (fills it, cropping the overhang)")
    parser.add_argument("--preset",
                        help="start from a preset's look (Work, Casual, or one you saved in the "
                        "window); the other flags apply on top")


def settings_for_run(args: argparse.Namespace) -> Settings:
    """The saved settings with this run's flags on top (nothing is written back)."""
    loaded = load_settings()
    for message in loaded.messages:
        print(f"backdrop: {message}", file=sys.stderr)
    settings = _first_run_notice(loaded.settings)
    if args.preset is not None:
        settings = _with_preset(settings, args.preset)
    try:
        return _apply_flags(settings, args)
    except SettingsError as error:
        raise UserError(str(error)) from error


def _with_preset(settings: Settings, name: str) -> Settings:
    loaded = load_presets()
    for message in loaded.messages:
        print(f"backdrop: {message}", file=sys.stderr)
    preset = find_preset(loaded.presets, name)
    if preset is None:
        names = ", ".join(p.name for p in loaded.presets)
        raise UserError(f"There is no preset called '{name}'. The presets are: {names}.")
    return preset.applied_to(settings)


MEDIAPIPE_NOTICE = (
    "Note: Backdrop finds you in the picture with Google's MediaPipe, which runs on this "
    "computer. Your video never leaves it, but MediaPipe sends usage metrics about its own "
    "performance to Google (see its terms: https://ai.google.dev/edge/mediapipe/legal/tos). "
    "This note is shown once."
)


def _first_run_notice(settings: Settings) -> Settings:
    """Say once, plainly, what MediaPipe sends; remember that it was said."""
    if settings.gui.first_run_notice_shown:
        return settings
    print(f"backdrop: {MEDIAPIPE_NOTICE}", file=sys.stderr)
    shown = dataclasses.replace(
        settings, gui=dataclasses.replace(settings.gui, first_run_notice_shown=True)
    )
    try:
        save_settings(shown)
    except SettingsError as error:
        print(f"backdrop: {error}", file=sys.stderr)
    return shown


def _apply_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    source, effect, mask, output = settings.source, settings.effect, settings.mask, settings.output
    if args.source is not None:
        source = dataclasses.replace(source, spec=args.source)
    if args.size is not None:
        source = dataclasses.replace(source, width_px=args.size[0], height_px=args.size[1])
    if args.fps is not None:
        source = dataclasses.replace(source, fps=args.fps)
    effect_changes: dict[str, Any] = {
        "kind": args.effect, "blur": args.blur, "color_rgb": args.color,
        "light_wrap": args.light_wrap, "blur_style": args.blur_style,
    }
    if args.background is not None:
        kind = args.effect or effect.kind
        effect_changes["video" if kind == "video" else "background"] = args.background
        if args.effect is None and kind not in ("image", "video"):
            effect_changes["kind"] = "image"
    effect = dataclasses.replace(effect, **_given(effect_changes))
    mask = dataclasses.replace(mask, **_given({
        "model": args.model, "smoothing": args.smoothing, "edge_softness": args.edge,
        "refinement": args.refinement,
    }))
    output_size = args.output_size or (None, None)
    output = dataclasses.replace(output, **_given({
        "mirror_output": args.mirror_output, "fit": args.fit,
        "width_px": output_size[0], "height_px": output_size[1],
    }))
    studio = dataclasses.replace(settings.studio, **studio_changes(args))
    return dataclasses.replace(settings, source=source, effect=effect, mask=mask, output=output,
                               studio=studio)


def _given(changes: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in changes.items() if value is not None}


def _run_command(args: argparse.Namespace) -> int:
    from app.devices.camera_access import request_camera_access
    from app.engine.session import SessionError, open_pipeline

    request_camera_access()  # macOS: on the main thread, before any camera opens
    settings = settings_for_run(args)
    output = args.output or "virtualcam"
    if args.model is not None:  # a model named here is checked now; a saved one falls back
        _check_model(settings)
    try:
        pipeline = open_pipeline(settings, output, max_frames=args.frames)
    except SessionError as error:
        raise UserError(str(error)) from error
    print(f"backdrop: {pipeline.describe()}", file=sys.stderr)
    stop_requested = _install_stop_handlers()
    clock = SystemClock()
    deadline_s = clock.now_s() + args.seconds if args.seconds else None
    status = _StatusLine(enabled=not args.quiet)
    try:
        while not pipeline.wait(0.25):
            status.show(pipeline.snapshot().status_line())
            if stop_requested() or (deadline_s is not None and clock.now_s() >= deadline_s):
                break
    finally:
        pipeline.stop()
        status.finish()
    return _report_end(pipeline, output)


def _check_model(settings: Settings) -> None:
    from segmentation.models import ModelError, resolve_model

    try:
        resolve_model(settings.mask.model, settings.source.width_px, settings.source.height_px)
    except ModelError as error:
        raise UserError(str(error)) from error


def _report_end(pipeline: object, output: str) -> int:
    from app.engine.pipeline import Pipeline

    assert isinstance(pipeline, Pipeline)
    snapshot = pipeline.snapshot()
    if pipeline.error is not None:
        print(f"backdrop: stopped: {pipeline.error}", file=sys.stderr)
        return 1
    if output in ("virtualcam", "null"):
        print(f"backdrop: sent {snapshot.frames_out} frames", file=sys.stderr)
        return 0
    written = pipeline.frames_sent or 0
    if output.lower().endswith(".mp4"):
        from app.devices.sinks import playable_frames

        written = min(written, playable_frames(Path(output)))
    if written < snapshot.frames_out:
        print(f"backdrop: only {written} of {snapshot.frames_out} frames reached {output}: the "
              "file is incomplete. Is the disk full, or the file too large for it?",
              file=sys.stderr)
        return 1
    print(f"backdrop: wrote {written} frames to {Path(output).resolve()}", file=sys.stderr)
    return 0


def _install_stop_handlers() -> Callable[[], bool]:
    """Ctrl-C and SIGTERM ask the run loop to stop cleanly; returns a 'was asked' probe."""
    asked: list[int] = []

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        asked.append(signum)

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    return lambda: bool(asked)


class _StatusLine:
    """A one-line live status on a terminal; an occasional plain line otherwise."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._tty = sys.stderr.isatty()
        self._last_s = 0.0
        self._shown = False

    def show(self, text: str) -> None:
        if not self._enabled:
            return
        if self._tty:
            sys.stderr.write("\r" + text[:150].ljust(150))
            sys.stderr.flush()
            self._shown = True
        elif time.monotonic() - self._last_s >= 5.0:
            self._last_s = time.monotonic()
            print(text, file=sys.stderr)

    def finish(self) -> None:
        if self._shown:
            sys.stderr.write("\n")


def _devices_command(_args: argparse.Namespace) -> int:
    from app.devices.camera_list import list_cameras
    from app.devices.virtualcam_help import available_backends

    cameras = list_cameras()
    print("Cameras:")
    for camera in cameras:
        where = f"  ({camera.path})" if camera.path else ""
        print(f"  camera:{camera.index}  {camera.name}{where}")
    if not cameras:
        print("  none found. Connect a camera, or use `backdrop run --source demo`.")
    print("Virtual-camera backends:")
    backends = available_backends()
    for name, ok, reason in backends:
        print(f"  {name}: {'available' if ok else 'not available'}")
        if not ok:
            print("    " + reason.replace("\n", "\n    "))
    if not any(ok for _name, ok, _reason in backends):
        from app.devices.virtualcam_help import virtualcam_fix

        print("\nHow to get a virtual camera:\n  " + virtualcam_fix().replace("\n", "\n  "))
    return 0


def _open_window() -> int:
    problem = window_problem()
    if problem:
        raise UserError(problem)
    try:
        from app.gui.main import run_gui
    except ImportError as error:
        raise UserError(
            f"the window cannot start ({error}). Run headless instead: "
            "`backdrop run --source demo --output demo.mp4 --seconds 5`."
        ) from error
    from app.devices.camera_access import request_camera_access

    request_camera_access()  # macOS: on the main thread; the window opens cameras on helpers
    return run_gui()


HEADLESS_HINT = (
    "Run without a window instead, for example:\n"
    "  backdrop run --source demo --output demo.mp4 --seconds 5\n"
    "  backdrop run --source camera --effect blur --output virtualcam"
)


def window_problem(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> str:
    """Why the window cannot open here ('' when it can): no display, or Qt's libraries missing."""
    environ = os.environ if environ is None else environ
    if not platform.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return ""
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return f"no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window " \
            f"cannot open.\n{HEADLESS_HINT}"
    from app.qtcheck import missing_libraries_message, missing_qt_libraries

    return missing_libraries_message(missing_qt_libraries())


if __name__ == "__main__":
    sys.exit(main())
