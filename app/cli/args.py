"""What every command shares: the user-error type, the exit code for usage errors, the
argument types that turn text into sizes, colours and positive numbers, and the studio
effects' flags (of `run` and `bench`)."""

from __future__ import annotations

import argparse
import math
from typing import Any

from compositing.framing import FRAMINGS

EXIT_USAGE = 2


class UserError(Exception):
    """A problem the user can fix; printed as one message, never as a traceback."""


def size_arg(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720), within 16x16 to 7680x4320."""
    try:
        width_text, height_text = text.lower().split("x")
        width_px, height_px = int(width_text), int(height_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 1280x720") from None
    if not (16 <= width_px <= 7680 and 16 <= height_px <= 4320):
        raise argparse.ArgumentTypeError(f"size {text} is outside 16x16 to 7680x4320")
    return width_px, height_px


def rgb_arg(text: str) -> tuple[int, int, int]:
    """'40,120,80' -> (40, 120, 80), each 0-255."""
    parts = text.replace(" ", "").split(",")
    try:
        values = tuple(int(part) for part in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0 <= value <= 255 for value in values):
        raise argparse.ArgumentTypeError(f"'{text}' is not a colour like 40,120,80 (0-255 each)")
    return values[0], values[1], values[2]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be above 0")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be above 0")
    return value


def add_studio_arguments(parser: argparse.ArgumentParser) -> None:
    """The studio effects' flags; `studio_changes` reads them."""
    parser.add_argument("--framing", choices=FRAMINGS,
                        help="auto: the picture follows you (a crop that keeps you centred); "
                        "off: the whole frame")
    parser.add_argument("--framing-zoom", type=float,
                        help="the most auto-framing zooms in, 1 to 3 (default 1.6)")
    parser.add_argument("--main-person", action=argparse.BooleanOptionalAction, default=None,
                        help="keep only the main person (the largest, most central; people "
                        "walking behind become background)")
    parser.add_argument("--vignette", type=float, help="vignette 0 (off) to 1")
    parser.add_argument("--light", type=float,
                        help="light a dim face towards a natural exposure, 0 (off) to 1")
    parser.add_argument("--touch-up", type=float,
                        help="smooth the skin of the face and neck, 0 (off) to 1")
    parser.add_argument("--denoise", type=float,
                        help="average a grainy camera's noise away on you, 0 (off) to 1")


def studio_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The studio settings the studio flags give: only those given."""
    changes = {
        "framing": args.framing, "framing_zoom_max": args.framing_zoom,
        "main_person": args.main_person, "vignette": args.vignette,
        "light": args.light, "touch_up": args.touch_up, "denoise": args.denoise,
    }
    return {name: value for name, value in changes.items() if value is not None}
