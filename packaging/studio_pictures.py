"""The README's pictures of the studio effects: the demo through the real engine, off | on.

  .venv/bin/python packaging/studio_pictures.py  # docs/studio/*-off-on.png, seven of them

Light is shown on the demo darkened to a third (a dim room); touch-up on the face, at 2x;
denoise on the face at 2x, with 6 levels of grain added to the demo's own; only the main person
on the demo with a bystander behind her; framing after three seconds, when the crop has settled.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np

from app.devices.demo import DemoRenderer, demo_person_regions
from app.devices.frames import Frame
from app.engine.schedules import RunMode
from app.engine.stages import FrameStages
from app.engine.stats import PipelineStats
from app.settings import Settings, StudioSettings

WIDTH_PX, HEIGHT_PX = 1280, 720
DOCS = Path(__file__).resolve().parents[1] / "docs" / "studio"


def last_output(studio: StudioSettings, darken: int = 1, frames: int = 45,
                blur_style: str = "flat", grain: float = 0.0,
                bystander: bool = False) -> np.ndarray:
    """The last output frame of the static demo through the engine; `grain` adds gaussian
    noise of that many levels to each frame (a grainy camera), `bystander` puts someone
    behind her."""
    rng = np.random.default_rng(7)
    base = Settings()
    settings = dataclasses.replace(
        base, studio=studio, effect=dataclasses.replace(base.effect, blur_style=blur_style))
    renderer = DemoRenderer(WIDTH_PX, HEIGHT_PX, static=True, bystander=bystander)
    stages = FrameStages(settings, WIDTH_PX, HEIGHT_PX, RunMode.EVERY_FRAME)
    output = None
    try:
        for index in range(frames):
            image = (renderer.render(index / 30) // darken).astype(np.uint8)
            if grain:
                noise = rng.normal(0.0, grain, image.shape)
                image = np.clip(image + noise, 0, 255).astype(np.uint8)
            for finished in stages.process(Frame(image, index / 30, index), PipelineStats()):
                output = finished.output_bgr
    finally:
        stages.close()
    assert output is not None
    return output


def side_by_side(off: np.ndarray, on: np.ndarray) -> np.ndarray:
    gap = np.full((off.shape[0], 8, 3), 255, np.uint8)
    return np.hstack([off, gap, on])


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    half = (WIDTH_PX // 2, HEIGHT_PX // 2)
    light = [cv2.resize(last_output(StudioSettings(light=strength), darken=3), half,
                        interpolation=cv2.INTER_AREA) for strength in (0.0, 0.75)]
    cv2.imwrite(str(DOCS / "light-off-on.png"), side_by_side(*light))
    portrait = [cv2.resize(last_output(StudioSettings(), frames=12, blur_style=style), half,
                           interpolation=cv2.INTER_AREA) for style in ("flat", "portrait")]
    cv2.imwrite(str(DOCS / "portrait-off-on.png"), side_by_side(*portrait))
    face = demo_person_regions(WIDTH_PX, HEIGHT_PX).face
    margin = (face.x1 - face.x0) // 3
    crop = (slice(max(0, face.y0 - margin), face.y1 + 2 * margin),
            slice(max(0, face.x0 - margin), face.x1 + margin))
    touch = [cv2.resize(last_output(StudioSettings(touch_up=strength), frames=12)[crop], None,
                        fx=2, fy=2, interpolation=cv2.INTER_CUBIC) for strength in (0.0, 0.7)]
    cv2.imwrite(str(DOCS / "touch-up-off-on.png"), side_by_side(*touch))
    grainy = [cv2.resize(last_output(StudioSettings(denoise=strength), frames=30, grain=6.0)[crop],
                         None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
              for strength in (0.0, 0.6)]
    cv2.imwrite(str(DOCS / "denoise-off-on.png"), side_by_side(*grainy))
    for name, off, on, kwargs in (
        ("main-person", StudioSettings(), StudioSettings(main_person=True),
         {"frames": 12, "bystander": True}),
        ("framing", StudioSettings(), StudioSettings(framing="auto"), {"frames": 90}),
        ("vignette", StudioSettings(), StudioSettings(vignette=0.6), {"frames": 12}),
    ):
        pair = [cv2.resize(last_output(studio, **kwargs), half, interpolation=cv2.INTER_AREA)
                for studio in (off, on)]
        cv2.imwrite(str(DOCS / f"{name}-off-on.png"), side_by_side(*pair))


if __name__ == "__main__":
    main()
