"""The engine at the settings users run: 720p and 1080p, the default refinement, live switches.

Alphas are checked against the demo's true person alpha, frame by frame.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from app.devices.demo import DemoSource
from app.engine.degrade import SETTLE_FRAMES, WINDOW_FRAMES
from app.engine.schedules import RunMode
from app.engine.stages import FrameStages
from app.engine.stats import PipelineStats
from app.settings import Settings

GREEN_BGR = np.array([0, 255, 0], np.int16)


def _green_screen(width_px: int, height_px: int, refinement: str) -> Settings:
    settings = Settings()
    return dataclasses.replace(
        settings,
        source=dataclasses.replace(settings.source, spec="demo", width_px=width_px,
                                   height_px=height_px),
        effect=dataclasses.replace(settings.effect, kind="color", color_rgb=(0, 255, 0)),
        mask=dataclasses.replace(settings.mask, refinement=refinement),
    )


def person_iou(output_bgr: np.ndarray, truth_u8: np.ndarray) -> float:
    """IoU of what the output shows as the person (not the green screen) with the truth."""
    shown = np.abs(output_bgr.astype(np.int16) - GREEN_BGR).max(axis=2) > 96
    truth = truth_u8 > 127
    union = np.logical_or(shown, truth).sum()
    return float(np.logical_and(shown, truth).sum() / union) if union else 1.0


class _Load:
    """The frame cost the governor sees, set by the test: the same on any machine."""

    def __init__(self) -> None:
        self.busy_ms = 1.0

    def __call__(self, _measured_ms: float) -> float:
        return self.busy_ms


@pytest.mark.parametrize(("width_px", "height_px"), [(1280, 720), (1920, 1080)])
def test_the_alpha_stays_on_the_person_through_refinement_switches_and_governor_steps(
    width_px: int, height_px: int
) -> None:
    """A refinement change at 720p and 1080p changes the work size ('fast' works at half
    size); a box kept from the old size once sent a person-shaped patch of the room to the
    meeting (IoU 0.0) until the person moved."""
    settings = _green_screen(width_px, height_px, "best")
    # She moves: a still picture reuses its alpha and is not counted as load by the governor.
    demo = DemoSource(width_px, height_px, 30.0, paced=False)
    demo.open()
    load = _Load()
    stages = FrameStages(settings, width_px, height_px, RunMode.LIVE, busy_ms=load)
    stats = PipelineStats()
    ious: list[tuple[str, float]] = []

    def run(frames: int, phase: str) -> None:
        for _ in range(frames):
            frame = demo.read(5.0)
            assert frame is not None
            truth = demo.person_alpha(frame.index)
            ious.extend((phase, person_iou(done.output_bgr, truth))
                        for done in stages.process(frame, stats))

    try:
        run(10, "best")
        stages.configure(dataclasses.replace(
            settings, mask=dataclasses.replace(settings.mask, refinement="fast")))
        run(10, "switched to fast")
        stages.configure(settings)
        run(10, "switched back to best")
        load.busy_ms = 100.0  # over the 33 ms budget: the governor caps 'best' at 'fast'
        run(SETTLE_FRAMES + WINDOW_FRAMES + 10, "governor down")
        assert stages.degradation.level == 1
        load.busy_ms = 1.0  # relaxed: it steps back up to 'best'
        run(SETTLE_FRAMES + WINDOW_FRAMES + 10, "governor up")
        assert stages.degradation.level == 0
    finally:
        stages.close()
        demo.close()
    assert len(ious) > 250
    worst = min(ious, key=lambda item: item[1])
    assert worst[1] >= 0.9, f"IoU {worst[1]:.3f} after '{worst[0]}'"


def _first_output(
    settings: Settings, width_px: int, height_px: int
) -> tuple[np.ndarray, np.ndarray]:
    """The output of the second frame of the still demo (the first settles the smoother), and
    the true person alpha of the camera's picture."""
    demo = DemoSource(width_px, height_px, 30.0, static=True, paced=False)
    demo.open()
    stages = FrameStages(settings, width_px, height_px, RunMode.LIVE)
    outputs: list[np.ndarray] = []
    try:
        while len(outputs) < 2:
            frame = demo.read(5.0)
            assert frame is not None
            outputs.extend(done.output_bgr for done in stages.process(frame, PipelineStats()))
        return outputs[-1], demo.person_alpha(0)
    finally:
        stages.close()
        demo.close()


def test_the_meeting_sees_the_camera_unmirrored_at_the_default_settings() -> None:
    """Mirroring is the self-view's: with the default `mirror` the sent picture is as the
    camera sees it, so other people read text the right way round."""
    settings = _green_screen(1280, 720, "fast")
    assert settings.output.mirror and not settings.output.mirror_output  # the defaults
    output_bgr, truth = _first_output(settings, 1280, 720)
    assert person_iou(output_bgr, truth) >= 0.9
    assert person_iou(output_bgr, truth[:, ::-1]) < 0.8  # the demo person is not symmetric


def test_mirror_output_sends_a_mirror_image() -> None:
    settings = _green_screen(1280, 720, "fast")
    settings = dataclasses.replace(
        settings, output=dataclasses.replace(settings.output, mirror_output=True)
    )
    output_bgr, truth = _first_output(settings, 1280, 720)
    assert person_iou(output_bgr, truth[:, ::-1]) >= 0.9


def test_effect_none_skips_segmentation_smoothing_and_refinement_until_an_effect_is_back() -> None:
    settings = _green_screen(1280, 720, "fast")
    none = dataclasses.replace(settings, effect=dataclasses.replace(settings.effect, kind="none"))
    demo = DemoSource(1280, 720, 30.0, static=True, paced=False)
    demo.open()
    stages = FrameStages(none, 1280, 720, RunMode.LIVE)
    stats = PipelineStats()
    try:
        for _ in range(5):
            frame = demo.read(5.0)
            assert frame is not None
            (done,) = stages.process(frame, stats)
            assert np.array_equal(done.output_bgr, frame.image_bgr)  # the camera, untouched
        assert not {"prepare", "segment_wait", "smooth", "refine", "composite"} & set(
            stats.snapshot().stage_ms_p50)
        stages.configure(settings)
        outputs = []
        for _ in range(3):
            frame = demo.read(5.0)
            assert frame is not None
            outputs.extend(done.output_bgr for done in stages.process(frame, stats))
        assert {"segment_wait", "refine", "composite"} <= set(stats.snapshot().stage_ms_p50)
        assert person_iou(outputs[-1], demo.person_alpha(0)) >= 0.9
    finally:
        stages.close()
        demo.close()
