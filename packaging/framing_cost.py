"""What auto-framing adds to compositing, timed in one process (the README's framing table).

    .venv/bin/python packaging/framing_cost.py

On 30 demo frames with their true alpha, at 1280x720 and 1920x1080, for blur and a colour with
light wrap: the compositor alone, then the whole composite cropped and scaled back (how framing
worked before), then only the crop composited and scaled back (how it works now). Each variant
runs ten times, alternately; the first round is a warm-up. Prints the medians, ms a frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from app.devices.demo import DemoSource
from compositing.blend import on_tiles, tile_side_px
from compositing.compositor import Compositor
from compositing.framing import AutoFraming

_FRAMES, _ROUNDS = 30, 10


def main() -> None:
    cv2.setNumThreads(1)  # as in every live run
    for width_px, height_px in ((1280, 720), (1920, 1080)):
        source = DemoSource(width_px, height_px, 30, paced=False)
        source.open()
        frames = []
        for index in range(_FRAMES):
            frame = source.read()
            assert frame is not None
            frames.append((frame.image_bgr, source.person_alpha(index)))
        source.close()
        framing = AutoFraming()
        for _frame, alpha in frames * 3:  # settled on her
            framing.update(alpha)
        x, y, crop_w, crop_h = framing.box()
        side = tile_side_px(height_px, width_px)
        assert side is not None
        region = on_tiles((slice(y, y + crop_h), slice(x, x + crop_w)), side)
        for effect in ({"effect": "blur"}, {"effect": "color", "light_wrap": 0.5}):
            compositor = Compositor()
            compositor.configure(**effect)
            medians = _medians(compositor, framing, region, frames)
            compositor.close()
            print(f"{width_px}x{height_px} {effect} crop {crop_w}x{crop_h}: " + ", ".join(
                f"{name} {ms:.2f} (+{ms - medians['off']:.2f})" for name, ms in medians.items()))


def _medians(compositor: Compositor, framing: AutoFraming, region: tuple[slice, slice],
             frames: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    variants: dict[str, Callable[[np.ndarray, np.ndarray], Any]] = {
        "off": compositor.apply,
        "whole, cropped": lambda f, a: framing.apply(compositor.apply(f, a)),
        "crop only": lambda f, a: framing.apply(compositor.apply(f, a, region=region)),
    }
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for _round in range(_ROUNDS):
        for name, work in variants.items():
            started_s = time.process_time()
            for frame_bgr, alpha in frames:
                work(frame_bgr, alpha)
            timings[name].append(1000.0 * (time.process_time() - started_s) / len(frames))
    return {name: float(np.median(ms[1:])) for name, ms in timings.items()}

if __name__ == "__main__":
    main()
