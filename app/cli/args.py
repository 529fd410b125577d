"""What every command shares: the user-error type, the exit code for usage errors, and the
argument types that turn text into sizes, colours and positive numbers."""

from __future__ import annotations

import argparse
import math

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
