"""The first segmenter is built on a helper while the source opens, and handed over whole."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from app.engine import segmenters
from app.engine.schedules import RunMode
from app.engine.segmenters import FirstSegmenter
from app.engine.session import open_pipeline
from app.settings import Settings
from segmentation.models import GENERAL, LANDSCAPE, ModelError, ModelSpec
from tests.threads import assert_no_threads_left, thread_baseline


@dataclasses.dataclass
class FakeSegmenter:
    spec: ModelSpec
    built_on: str
    closed: bool = False

    def close(self) -> None:
        self.closed = True


class Builds:
    """Stands in for `new_segmenter`: records what was built, on which thread."""

    def __init__(self, fail: bool = False) -> None:
        self.built: list[FakeSegmenter] = []
        self.fail = fail

    def __call__(self, spec: ModelSpec, mode: RunMode) -> FakeSegmenter:
        if self.fail:
            raise ModelError(f"cannot build {spec.name}")
        segmenter = FakeSegmenter(spec, threading.current_thread().name)
        self.built.append(segmenter)
        return segmenter


@pytest.fixture(name="builds")
def builds_fixture(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Builds]:
    def install(fail: bool = False) -> Builds:
        builds = Builds(fail)
        monkeypatch.setattr(segmenters, "new_segmenter", builds)
        return builds
    return install


def test_the_segmenter_for_the_asked_size_is_built_on_the_helper_and_handed_over(
    builds: Callable[..., Builds],
) -> None:
    baseline = thread_baseline()
    built = builds()
    first = FirstSegmenter("auto", 1920, 1080, RunMode.LIVE)
    segmenter = first.build(LANDSCAPE)
    first.close()
    assert built.built == [segmenter]
    assert segmenter.built_on.startswith("backdrop-model-first") and not segmenter.closed
    assert_no_threads_left(baseline)


def test_another_model_is_built_anew_and_the_early_one_is_closed(
    builds: Callable[..., Builds],
) -> None:
    built = builds()
    first = FirstSegmenter("auto", 1920, 1080, RunMode.LIVE)  # the camera came up 4:3
    segmenter = first.build(GENERAL)
    first.close()
    early, = (s for s in built.built if s is not segmenter)
    assert segmenter.spec == GENERAL and segmenter.built_on == threading.current_thread().name
    assert early.spec == LANDSCAPE and early.closed


def test_a_segmenter_nobody_took_is_closed_and_later_builds_still_work(
    builds: Callable[..., Builds],
) -> None:
    built = builds()
    first = FirstSegmenter("landscape", 1280, 720, RunMode.LIVE)
    first.close()
    first.close()
    assert [s.closed for s in built.built] == [True]
    assert first.build(LANDSCAPE).built_on == threading.current_thread().name  # a model switch


def test_a_failed_early_build_raises_where_the_segmenter_is_asked_for(
    builds: Callable[..., Builds],
) -> None:
    builds(fail=True)
    first = FirstSegmenter("auto", 1280, 720, RunMode.LIVE)
    with pytest.raises(ModelError, match="cannot build landscape"):
        first.build(LANDSCAPE)
    first.close()


def test_nothing_is_built_early_without_a_size_or_for_a_model_that_does_not_resolve(
    builds: Callable[..., Builds], tmp_path: Path,
) -> None:
    built = builds()
    for first in (FirstSegmenter("auto", 0, 0, RunMode.EVERY_FRAME),  # a file, before it opens
                  FirstSegmenter(str(tmp_path / "missing.tflite"), 1280, 720, RunMode.LIVE)):
        first.close()
    assert built.built == []


def test_a_pipeline_segments_with_the_model_built_while_its_source_opened(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    real = segmenters.new_segmenter
    threads: list[str] = []

    def recording(spec: ModelSpec, mode: RunMode) -> segmenters.Segmenter:
        threads.append(threading.current_thread().name)
        return real(spec, mode)

    monkeypatch.setattr(segmenters, "new_segmenter", recording)
    settings = Settings()
    settings = dataclasses.replace(settings, source=dataclasses.replace(
        settings.source, spec="demo", width_px=320, height_px=180))
    pipeline = open_pipeline(settings, "null", max_frames=3)
    try:
        assert pipeline.wait(30.0)
    finally:
        pipeline.stop()
    assert pipeline.error is None and pipeline.snapshot().frames_out == 3
    assert len(threads) == 1 and threads[0].startswith("backdrop-model-first")
