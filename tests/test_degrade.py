"""Graceful degradation: step down when frames overrun their budget, step back when they don't."""

from __future__ import annotations

import dataclasses

from app.devices.demo import DemoSource
from app.devices.sinks import NullSink
from app.engine.degrade import MAX_LEVEL, SETTLE_FRAMES, WINDOW_FRAMES, LoadGovernor
from app.engine.pipeline import Pipeline
from app.settings import Settings
from tests.waiting import FrameCollector, wait_until

BUDGET_MS = 33.3


def _feed(governor: LoadGovernor, busy_ms: float, frames: int, applicable: object = None) -> list:
    changes = []
    for _ in range(frames):
        change = governor.observe(busy_ms, BUDGET_MS, applicable)
        if change is not None:
            changes.append(change)
    return changes


def test_an_overloaded_machine_degrades_one_step_at_a_time() -> None:
    governor = LoadGovernor()
    changes = _feed(governor, 40.0, SETTLE_FRAMES + WINDOW_FRAMES)
    assert [change.level for change in changes] == [1]
    assert "refinement" in changes[0].message
    changes = _feed(governor, 40.0, 3 * (SETTLE_FRAMES + WINDOW_FRAMES))
    assert [change.level for change in changes] == [2, 3]
    assert changes[-1].every_other_frame
    assert _feed(governor, 40.0, 200) == []  # nothing below the last step
    assert governor.level == MAX_LEVEL


def test_steps_that_would_change_nothing_are_skipped() -> None:
    governor = LoadGovernor()
    changes = _feed(governor, 40.0, SETTLE_FRAMES + WINDOW_FRAMES, lambda level: level == 3)
    assert [change.level for change in changes] == [3]


def test_a_machine_that_keeps_up_again_recovers_step_by_step() -> None:
    governor = LoadGovernor()
    _feed(governor, 40.0, 2 * (SETTLE_FRAMES + WINDOW_FRAMES))
    assert governor.level == 2
    changes = _feed(governor, 5.0, 3 * (SETTLE_FRAMES + WINDOW_FRAMES))
    assert [change.level for change in changes] == [1, 0]
    assert changes[-1].message == ""


def test_a_moderate_load_holds_the_level_steady() -> None:
    governor = LoadGovernor()
    _feed(governor, 40.0, SETTLE_FRAMES + WINDOW_FRAMES)
    assert _feed(governor, 0.6 * BUDGET_MS, 500) == []
    assert governor.level == 1


def test_the_pipeline_says_which_step_it_took_and_keeps_sending_frames() -> None:
    """Every frame is made to look 100 ms long against a 30 fps budget (the load is injected,
    so this means the same on a fast machine and a slow one)."""
    settings = Settings()
    settings = dataclasses.replace(
        settings,
        source=dataclasses.replace(settings.source, spec="demo", width_px=640, height_px=360),
        mask=dataclasses.replace(settings.mask, refinement="best"),
    )
    frames = FrameCollector()
    pipeline = Pipeline(settings, DemoSource(640, 360, 30.0), NullSink(), on_frame=frames,
                        busy_ms=lambda _measured_ms: 100.0)
    pipeline.start()
    try:
        wait_until(lambda: any("refinement is now 'fast'" in message
                               for message in pipeline.messages),
                   "the governor said it capped the refinement", timeout_s=120.0)
        frames_then = frames.count()
        frames.wait_for(frames_then + 5)
    finally:
        pipeline.stop()
