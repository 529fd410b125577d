"""A new background or model is loaded off the frame thread: frames keep coming with the old
one until the new one is ready, then the output shows it. Loads are made slow with an Event the
test holds, so "the frame thread never waited" is a fact, not a timing."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from app.devices.frames import Frame
from app.engine.schedules import RunMode
from app.engine.stages import FrameStages
from app.engine.stats import PipelineStats
from app.settings import Settings
from compositing.files import FileBackground, load_background
from compositing.video import VideoBackground
from segmentation.models import GENERAL, LANDSCAPE, ModelError, ModelSpec
from segmentation.segmenter import LiveSegmenter

WIDTH_PX, HEIGHT_PX = 320, 240
RED_BGR, BLUE_BGR, GREEN_BGR = (20, 20, 220), (220, 40, 20), (30, 200, 40)
# Bounds, not expectations: each is far more than a working engine needs.
MAX_FRAMES = 400
GATE_TIMEOUT_S = 30.0


def _write_png(path: Path, color_bgr: tuple[int, int, int]) -> str:
    assert cv2.imwrite(str(path), np.full((90, 160, 3), color_bgr, np.uint8))
    return str(path)


def _settings(**changes: Any) -> Settings:
    """Default settings, except where a test says (effect fields, or `model`)."""
    settings = Settings()
    model = changes.pop("model", settings.mask.model)
    return dataclasses.replace(
        settings,
        effect=dataclasses.replace(settings.effect, **changes),
        mask=dataclasses.replace(settings.mask, model=model),
        output=dataclasses.replace(settings.output, mirror=False),
    )


class GatedLoader:
    """`load_background` that waits for `gate` before loading the files in `slow`."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.slow: set[str] = set()
        self.loaded: list[str] = []
        self.threads: set[str] = set()

    def __call__(self, path: str, kind: str) -> FileBackground:
        self.threads.add(threading.current_thread().name)
        if path in self.slow:
            assert self.gate.wait(GATE_TIMEOUT_S), "the test never opened the gate"
        self.loaded.append(path)
        return load_background(path, kind)


class Feeder:
    """The frame thread: feeds the stages plain frames and keeps the newest output."""

    def __init__(self, stages: FrameStages) -> None:
        self.stages = stages
        self.stats = PipelineStats()
        self.index = 0
        self.outputs: list[np.ndarray] = []

    def feed(self, count: int) -> list[np.ndarray]:
        """Feed frames until `count` more outputs came (MediaPipe may drop a few)."""
        wanted = len(self.outputs) + count
        for _ in range(MAX_FRAMES):
            if len(self.outputs) >= wanted:
                return self.outputs[-count:]
            image_bgr = np.full((HEIGHT_PX, WIDTH_PX, 3), 128, np.uint8)
            frame = Frame(image_bgr, 100.0 + self.index / 30.0, self.index)
            self.index += 1
            for finished in self.stages.process(frame, self.stats):
                self.outputs.append(finished.output_bgr.copy())
        raise AssertionError(f"only {len(self.outputs)} of {wanted} outputs came")

    def feed_until(self, condition: Any, what: str) -> None:
        """Feed frames until `condition()` holds; fail naming `what` after MAX_FRAMES."""
        for _ in range(MAX_FRAMES):
            if condition():
                return
            self.feed(1)
        raise AssertionError(f"frames never showed that {what}")


def _corner_is(frame_bgr: np.ndarray, color_bgr: tuple[int, int, int]) -> bool:
    corner = frame_bgr[:24, :24].reshape(-1, 3).mean(axis=0)
    return bool(np.abs(corner - color_bgr).max() < 12)


@pytest.fixture(name="files")
def files_fixture(tmp_path: Path) -> dict[str, str]:
    return {"red": _write_png(tmp_path / "red.png", RED_BGR),
            "blue": _write_png(tmp_path / "blue.png", BLUE_BGR),
            "green": _write_png(tmp_path / "green.png", GREEN_BGR)}


@pytest.fixture(name="opened")
def opened_fixture() -> Iterator[list[FrameStages]]:
    """Stages a test opens; closed afterwards, and no helper thread may outlive them."""
    before = set(threading.enumerate())
    opened: list[FrameStages] = []
    yield opened
    for stages in opened:
        stages.close()
    assert set(threading.enumerate()) <= before, "a loading thread outlived its stages"


def _open(opened: list[FrameStages], settings: Settings, **helpers: Any) -> Feeder:
    stages = FrameStages(settings, WIDTH_PX, HEIGHT_PX, **helpers)
    opened.append(stages)
    return Feeder(stages)


def test_a_new_background_loads_while_the_old_one_stays_on_the_output(
    files: dict[str, str], opened: list[FrameStages]
) -> None:
    loader = GatedLoader()
    settings = _settings(kind="image", background=files["red"], light_wrap=0.0)
    feeder = _open(opened, settings, load_background=loader)
    assert all(_corner_is(frame, RED_BGR) for frame in feeder.feed(3))
    loader.slow.add(files["blue"])
    blue = dataclasses.replace(settings, effect=dataclasses.replace(settings.effect,
                                                                    background=files["blue"]))
    assert feeder.stages.configure(blue) == []  # returned while the load is held at the gate
    assert all(_corner_is(frame, RED_BGR) for frame in feeder.feed(5)), "the old one stays"
    loader.gate.set()
    feeder.feed_until(lambda: _corner_is(feeder.outputs[-1], BLUE_BGR), "the new one shows")
    assert loader.loaded == [files["red"], files["blue"]]
    assert any(name.startswith("backdrop-background") for name in loader.threads)


def test_the_newest_choice_wins_and_a_superseded_load_never_shows(
    files: dict[str, str], opened: list[FrameStages]
) -> None:
    loader = GatedLoader()
    settings = _settings(kind="image", background=files["red"], light_wrap=0.0)
    feeder = _open(opened, settings, load_background=loader)
    feeder.feed(2)
    loader.slow.add(files["blue"])
    for name in ("blue", "green"):  # green chosen while blue is still loading
        feeder.stages.configure(dataclasses.replace(
            settings, effect=dataclasses.replace(settings.effect, background=files[name])))
    feeder.feed(3)
    loader.gate.set()
    feeder.feed_until(lambda: _corner_is(feeder.outputs[-1], GREEN_BGR), "green shows")
    assert not any(_corner_is(frame, BLUE_BGR) for frame in feeder.outputs)


def test_switching_from_colour_to_an_image_keeps_the_colour_until_the_image_is_ready(
    files: dict[str, str], opened: list[FrameStages]
) -> None:
    loader = GatedLoader()
    loader.slow.add(files["blue"])
    settings = _settings(kind="color", color_rgb=GREEN_BGR[::-1], light_wrap=0.0)
    feeder = _open(opened, settings, load_background=loader)
    assert _corner_is(feeder.feed(2)[-1], GREEN_BGR)
    feeder.stages.configure(dataclasses.replace(settings, effect=dataclasses.replace(
        settings.effect, kind="image", background=files["blue"])))
    assert all(_corner_is(frame, GREEN_BGR) for frame in feeder.feed(4))
    loader.gate.set()
    feeder.feed_until(lambda: _corner_is(feeder.outputs[-1], BLUE_BGR), "the image shows")


def test_settings_that_keep_the_file_do_not_load_it_again(
    files: dict[str, str], opened: list[FrameStages]
) -> None:
    loader = GatedLoader()
    settings = _settings(kind="image", background=files["red"])
    feeder = _open(opened, settings, load_background=loader)
    for light_wrap in (0.0, 0.3, 0.0):
        changed = dataclasses.replace(settings, effect=dataclasses.replace(
            settings.effect, light_wrap=light_wrap, blur=20))
        assert feeder.stages.configure(changed) == []
        feeder.feed(2)
    assert _corner_is(feeder.outputs[-1], RED_BGR)
    assert loader.loaded == [files["red"]]


def test_a_file_that_fails_to_load_keeps_the_previous_background_and_says_so(
    files: dict[str, str], opened: list[FrameStages], tmp_path: Path
) -> None:
    settings = _settings(kind="image", background=files["red"], light_wrap=0.0)
    feeder = _open(opened, settings)
    feeder.feed(2)
    broken = tmp_path / "holiday.jpg"
    broken.write_bytes(Path(files["red"]).read_bytes()[:60])  # a half-copied file
    feeder.stages.configure(dataclasses.replace(
        settings, effect=dataclasses.replace(settings.effect, background=str(broken))))
    feeder.feed_until(lambda: any("holiday.jpg" in m for m in feeder.stages.messages),
                      "the message came")
    assert feeder.stages.messages[-1].endswith("The previous background stays.")
    assert all(_corner_is(frame, RED_BGR) for frame in feeder.feed(3))


@pytest.mark.parametrize(
    ("mode", "captured_every_s"),
    [(RunMode.LIVE, 1 / 15), (RunMode.EVERY_FRAME, 0.001)],
    ids=["live-15fps-camera", "file-15fps-processed-fast"],
)
def test_a_video_background_plays_at_its_own_rate_on_a_15_fps_output(
    opened: list[FrameStages], tmp_path: Path, mode: RunMode, captured_every_s: float
) -> None:
    """Live, the background follows the camera frames' time; a file processed faster than
    real time follows the output's own 15 fps timeline. Either way: two 30 fps frames a frame."""
    clip = tmp_path / "numbered.mp4"  # 30 fps; frame i is grey level 30 * i
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, (64, 48))
    for index in range(8):
        writer.write(np.full((48, 64, 3), index * 30, np.uint8))
    writer.release()
    videos: list[FileBackground] = []

    def keep(path: str, kind: str) -> FileBackground:
        videos.append(load_background(path, kind))
        return videos[-1]

    settings = _settings(kind="video", video=str(clip), light_wrap=0.0)
    stages = FrameStages(settings, WIDTH_PX, HEIGHT_PX, mode, load_background=keep,
                         source_fps=15.0)
    opened.append(stages)
    (video,) = videos
    assert isinstance(video, VideoBackground)
    shown: list[tuple[int, int]] = []  # (camera frame index, background frame index)
    for camera_index in range(12):
        image_bgr = np.full((HEIGHT_PX, WIDTH_PX, 3), 128, np.uint8)
        frame = Frame(image_bgr, 100.0 + camera_index * captured_every_s, camera_index)
        # Never race the decoder: first wait for the frame due at the time the stages use.
        due_s = frame.captured_s if mode is RunMode.LIVE else camera_index / 15.0
        assert video.wait_until_decoded(due_s, timeout_s=10.0)
        for finished in stages.process(frame, PipelineStats()):
            camera_shown = round((finished.captured_s - 100.0) / captured_every_s)
            shown.append((camera_shown, round(float(finished.output_bgr[:24, :24].mean()) / 30)))
    assert len(shown) >= 6, "MediaPipe returned masks for most frames"
    first_camera, first_shown = shown[0]
    for camera_index, background_index in shown:  # two background frames per output frame
        assert background_index == (first_shown + 2 * (camera_index - first_camera)) % 8


class GatedModels:
    """Builds live segmenters; the models in `slow` wait for `gate`, those in `bad` fail."""

    def __init__(self, slow: ModelSpec | None = None, bad: ModelSpec | None = None) -> None:
        self.gate = threading.Event()
        self.slow, self.bad = slow, bad
        self.built: list[str] = []

    def __call__(self, spec: ModelSpec) -> LiveSegmenter:
        if spec == self.slow:
            assert self.gate.wait(GATE_TIMEOUT_S), "the test never opened the gate"
        if spec == self.bad:
            raise ModelError(f"MediaPipe cannot use '{spec.path}' as an image segmenter.")
        self.built.append(spec.name)
        return LiveSegmenter(spec)


def test_a_new_model_is_built_while_the_old_one_keeps_segmenting(
    opened: list[FrameStages],
) -> None:
    models = GatedModels(slow=LANDSCAPE)
    settings = _settings(kind="blur", model="general")
    feeder = _open(opened, settings, new_segmenter=models)
    feeder.feed(2)
    assert feeder.stages.configure(_settings(kind="blur", model="landscape")) == []
    feeder.feed(5)  # frames go on while the graph is held at the gate
    assert feeder.stages.model == GENERAL
    models.gate.set()
    feeder.feed_until(lambda: feeder.stages.model == LANDSCAPE, "the new model took over")
    feeder.feed(3)
    assert models.built == ["general", "landscape"]


def test_a_model_that_fails_to_build_keeps_the_current_one_and_says_so(
    opened: list[FrameStages],
) -> None:
    models = GatedModels(bad=LANDSCAPE)
    feeder = _open(opened, _settings(kind="blur", model="general"), new_segmenter=models)
    feeder.feed(2)
    assert feeder.stages.configure(_settings(kind="blur", model="landscape")) == []
    feeder.feed_until(lambda: any("Keeping the current model." in m
                                  for m in feeder.stages.messages), "the message came")
    assert "selfie_landscape.tflite" in feeder.stages.messages[-1]
    feeder.feed(3)
    assert feeder.stages.model == GENERAL
