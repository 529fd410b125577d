"""A still picture reuses its alpha (no inference, no refinement); any movement is segmented.

On the real demo at the default 1280x720: the still clip's frames are reused, the moving
clip's are not, and the live engine's output keeps the person where she is in both.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from app.devices.demo import DemoSource
from app.engine.schedules import RunMode
from app.engine.stages import FrameStages
from app.engine.stats import PipelineStats
from app.settings import Settings
from segmentation.segmenter import model_input
from segmentation.stillness import MAX_REUSED_FRAMES, StillnessGate
from tests.test_defaults import person_iou

WIDTH_PX, HEIGHT_PX = 1280, 720
MODEL_SIZE = (256, 144)


def _small_grays(count: int, **demo: object) -> list[np.ndarray]:
    """The demo's frames as the gate sees them: gray at the model's input size."""
    source = DemoSource(WIDTH_PX, HEIGHT_PX, 30.0, paced=False, **demo)  # type: ignore[arg-type]
    source.open()
    try:
        grays = []
        for _ in range(count):
            frame = source.read(5.0)
            assert frame is not None
            small = model_input(frame.image_bgr, MODEL_SIZE)
            grays.append(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        return grays
    finally:
        source.close()


def _decisions(grays: list[np.ndarray]) -> str:
    """'s' for each frame the gate reuses, '.' for each it has segmented."""
    gate, marks = StillnessGate(), []
    for gray in grays:
        still = gate.still(gray)
        if not still:
            gate.segmented(gray)
        marks.append("s" if still else ".")
    return "".join(marks)


def test_a_still_picture_is_reused_between_renewals() -> None:
    marks = _decisions(_small_grays(40, static=True))
    # Two frames settle the reference; then each renewal is followed by a full run of reuse.
    assert marks.startswith("..")
    assert marks[2:].count(".") <= 2, marks
    assert "s" * MAX_REUSED_FRAMES in marks and "s" * (MAX_REUSED_FRAMES + 1) not in marks


@pytest.mark.parametrize("motion", ["sway", "tilt"])
def test_a_moving_person_is_segmented_every_frame_while_she_moves(motion: str) -> None:
    """The demo's sway is under a pixel a frame at her head: never two frames reused in a row,
    and at most a few at the slowest turn of the sway."""
    marks = _decisions(_small_grays(90, motion=motion))
    assert "ss" not in marks, marks
    assert marks.count("s") <= 8, marks


def test_a_change_of_light_over_the_whole_picture_is_not_still() -> None:
    grays = _small_grays(3, static=True)
    gate = StillnessGate()
    gate.segmented(grays[0])
    gate.segmented(grays[1])
    assert gate.still(grays[2])
    brighter = cv2.add(grays[2], 4)  # an exposure step of 4 levels everywhere
    assert not gate.still(brighter)


def test_a_new_size_is_never_still() -> None:
    grays = _small_grays(2, static=True)
    gate = StillnessGate()
    gate.segmented(grays[0])
    gate.segmented(grays[1])
    assert not gate.still(cv2.resize(grays[1], (128, 72)))


def _blur_settings() -> Settings:
    settings = Settings()  # defaults: blur, fast refinement, 1280x720
    effect = dataclasses.replace(settings.effect, kind="color", color_rgb=(0, 255, 0))
    return dataclasses.replace(settings, effect=effect)


def test_live_engine_reuses_still_frames_and_follows_her_when_she_moves() -> None:
    """A still camera, then she starts to move: the still frames skip inference, each moving
    frame is segmented, and the output shows her where the camera does throughout."""
    settings = _blur_settings()
    stages = FrameStages(settings, WIDTH_PX, HEIGHT_PX, RunMode.LIVE)
    stats = PipelineStats()
    still = DemoSource(WIDTH_PX, HEIGHT_PX, 30.0, static=True, paced=False)
    moving = DemoSource(WIDTH_PX, HEIGHT_PX, 30.0, paced=False, motion="tilt")
    ious: list[tuple[str, int, float]] = []
    reused_outputs: list[int] = []

    def run(source: DemoSource, frames: int, phase: str) -> int:
        before = stats.snapshot(figures=False).still_frames
        for index in range(frames):
            frame = source.read(5.0)
            assert frame is not None
            truth = source.person_alpha(index)
            reused_before = stats.snapshot(figures=False).still_frames
            done = list(stages.process(frame, stats))
            if stats.snapshot(figures=False).still_frames > reused_before:
                reused_outputs.append(len(done))  # a reused frame is never held back
            ious.extend((phase, index, person_iou(finished.output_bgr, truth))
                        for finished in done)
        return stats.snapshot(figures=False).still_frames - before

    try:
        still.open()
        moving.open()
        reused_still = run(still, 30, "still")
        reused_moving = run(moving, 45, "moving")
    finally:
        stages.close()
        still.close()
        moving.close()
    assert reused_still >= 25
    assert reused_moving <= 3
    assert reused_outputs == [1] * (reused_still + reused_moving)  # each at once, in its turn
    worst = min(ious, key=lambda item: item[2])
    assert worst[2] >= 0.93, f"IoU {worst[2]:.3f} at {worst[0]} frame {worst[1]}"


def test_a_settings_change_while_still_is_applied_at_once() -> None:
    """A reused alpha was made with the old mask settings: a change is segmented anew."""
    settings = _blur_settings()
    stages = FrameStages(settings, WIDTH_PX, HEIGHT_PX, RunMode.LIVE)
    stats = PipelineStats()
    source = DemoSource(WIDTH_PX, HEIGHT_PX, 30.0, static=True, paced=False)
    source.open()
    try:
        outputs, read = [], 0
        while stats.snapshot(figures=False).still_frames < 3:  # reusing, as a still picture does
            assert read < 30, "the still demo was never reused"
            read += 1
            frame = source.read(5.0)
            assert frame is not None
            outputs.extend(done.output_bgr for done in stages.process(frame, stats))
        harder = dataclasses.replace(settings.mask, edge_softness=0.0)
        stages.configure(dataclasses.replace(settings, mask=harder))
        before = stats.snapshot(figures=False).still_frames
        after: list[np.ndarray] = []
        while not after:  # the first output since the change (a frame MediaPipe dropped has none)
            assert read < 60, "no frame came out after the change"
            read += 1
            frame = source.read(5.0)
            assert frame is not None
            after.extend(done.output_bgr for done in stages.process(frame, stats))
        assert stats.snapshot(figures=False).still_frames == before  # segmented, not reused
        alpha_soft = np.abs(outputs[-1].astype(np.int16) - (0, 255, 0)).max(axis=2)
        alpha_hard = np.abs(after[0].astype(np.int16) - (0, 255, 0)).max(axis=2)
        # A hard edge has fewer pixels half-way between her and the green.
        half_way = (alpha_soft > 40) & (alpha_soft < 200)
        assert ((alpha_hard > 40) & (alpha_hard < 200)).sum() < half_way.sum()
    finally:
        stages.close()
        source.close()


def test_reused_frames_are_not_counted_as_load_by_the_governor() -> None:
    """The governor judges what a segmented frame costs: still frames, which skip the model,
    must not make a slow machine look fast (it would step quality up while you sit still and
    down again each time you move, saying so each time)."""
    from app.engine.degrade import SETTLE_FRAMES, WINDOW_FRAMES

    observed: list[float] = []

    def load(measured_ms: float) -> float:
        observed.append(measured_ms)
        return 100.0  # every frame the governor sees is over the 33 ms budget

    settings = _blur_settings()
    stages = FrameStages(settings, WIDTH_PX, HEIGHT_PX, RunMode.LIVE, busy_ms=load)
    stats = PipelineStats()
    source = DemoSource(WIDTH_PX, HEIGHT_PX, 30.0, static=True, paced=False)
    source.open()
    frames = SETTLE_FRAMES + WINDOW_FRAMES
    try:
        for _ in range(frames):
            frame = source.read(5.0)
            assert frame is not None
            list(stages.process(frame, stats))
    finally:
        stages.close()
        source.close()
    still = stats.snapshot(figures=False).still_frames
    assert still >= 0.8 * frames
    assert len(observed) == frames - still
