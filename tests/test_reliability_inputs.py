"""Files that go bad: backgrounds changed under Backdrop's feet, odd images, a corrupt model and
a corrupt settings file. Each one ends in a clear message, never in a crash or a black frame."""

from __future__ import annotations

import dataclasses
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from app.clock import FakeClock
from app.devices.demo import DemoSource
from app.devices.sinks import NullSink
from app.engine.pipeline import Pipeline
from app.settings import Settings, load_settings
from compositing.backgrounds import MAX_IMAGE_SIDE_PX, BackgroundError, ImageBackground
from compositing.compositor import Compositor
from compositing.files import load_background
from compositing.video import VideoBackground
from segmentation.models import GENERAL
from tests.waiting import FrameCollector as Preview
from tests.waiting import wait_until as _wait_until

ROOT = Path(__file__).resolve().parents[1]
RED_BGR = (12, 12, 230)  # the video's red plus its mean grain


def _write_video(path: Path, frames: int = 30) -> Path:
    """A red video with grain, big enough (~300 kB) that FFmpeg cannot hold all of it."""
    rng = np.random.default_rng(5)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (320, 240))
    assert writer.isOpened()
    for _ in range(frames):
        grain = rng.integers(0, 25, (240, 320, 3), dtype=np.uint8)
        writer.write(cv2.add(np.full((240, 320, 3), RED_BGR, np.uint8), grain))
    writer.release()
    return path


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload)))


def _png_declaring(width_px: int, height_px: int) -> bytes:
    """A tiny PNG whose header claims a huge size (a 'decompression bomb')."""
    header = struct.pack(">IIBBBBB", width_px, height_px, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def _jpeg_with_orientation(image_bgr: np.ndarray, orientation: int) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    payload = b"Exif\x00\x00MM" + struct.pack(">HI", 42, 8) + ifd + struct.pack(">I", 0)
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return encoded.tobytes()[:2] + app1 + encoded.tobytes()[2:]


# --- odd images -------------------------------------------------------------------------------
def test_a_huge_phone_photo_loads_upright_at_a_bounded_size(tmp_path: Path) -> None:
    stored = np.zeros((4000, 8000, 3), np.uint8)
    stored[:, :4000] = 255  # white left half as stored; orientation 6 turns it to the top
    path = tmp_path / "phone.jpg"
    path.write_bytes(_jpeg_with_orientation(stored, 6))
    background = ImageBackground(str(path))
    assert max(background.size) <= MAX_IMAGE_SIDE_PX
    width_px, height_px = background.size
    assert height_px == 2 * width_px  # portrait: upright
    upright = background.frame(width_px, height_px)
    assert upright[: height_px // 2 - 8].mean() > 240 and upright[height_px // 2 + 8 :].mean() < 15


def test_an_8000_pixel_square_png_loads_downscaled(tmp_path: Path) -> None:
    image = np.zeros((8000, 8000, 3), np.uint8)
    image[:, 4000:] = (0, 255, 0)
    path = tmp_path / "huge.png"
    ok, encoded = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok
    path.write_bytes(encoded.tobytes())
    background = ImageBackground(str(path))
    assert background.size == (MAX_IMAGE_SIDE_PX, MAX_IMAGE_SIDE_PX)
    frame = background.frame(64, 64)
    assert frame[:, :30].max() < 10 and (frame[:, 34:, 1] > 245).all()


@pytest.mark.parametrize(
    ("name", "image", "expected_bgr"),
    [
        ("dot.png", np.full((1, 1, 3), (10, 120, 250), np.uint8), (10, 120, 250)),
        ("gray.png", np.full((20, 30), 77, np.uint8), (77, 77, 77)),
        ("deep.png", np.full((20, 30, 3), 40000, np.uint16), (156, 156, 156)),
        ("gray_alpha.png", np.dstack([np.full((20, 30), 0, np.uint8)] * 3
                                     + [np.full((20, 30), 0, np.uint8)]), (255, 255, 255)),
        ("half_clear.png", np.dstack([np.full((20, 30, 3), 0, np.uint8),
                                      np.full((20, 30), 128, np.uint8)]), (127, 127, 127)),
    ],
)
def test_odd_images_load_as_a_full_frame_of_what_a_viewer_shows(
    tmp_path: Path, name: str, image: np.ndarray, expected_bgr: tuple[int, int, int]
) -> None:
    path = tmp_path / name
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    path.write_bytes(encoded.tobytes())
    frame = load_background(str(path)).frame(64, 36)
    assert frame.shape == (36, 64, 3) and frame.dtype == np.uint8
    assert np.abs(frame.reshape(-1, 3).mean(axis=0) - expected_bgr).max() <= 1.5


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.png", b"", "the file is empty"),
        ("noise.jpg", np.random.default_rng(2).bytes(20000), "not an image file"),
        ("bomb.png", _png_declaring(100_000, 100_000), "100000x100000 pixels"),
        ("cut.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "not an image file"),
        ("no_frames.mp4", None, "no frames"),
    ],
)
def test_bad_files_are_refused_with_a_message_naming_them(
    tmp_path: Path, name: str, content: bytes | None, reason: str
) -> None:
    path = tmp_path / name
    if content is None:
        _write_video(path, frames=0)
    else:
        path.write_bytes(content)
    with pytest.raises(BackgroundError, match=reason) as raised:
        load_background(str(path))
    assert name in str(raised.value)


# --- backgrounds that go bad while in use -----------------------------------------------------
def test_a_video_background_truncated_while_in_use_keeps_its_last_frame_and_says_why(
    tmp_path: Path,
) -> None:
    path = _write_video(tmp_path / "loop.mp4")  # 3 s at 10 fps
    good = path.read_bytes()
    video = VideoBackground(str(path))
    compositor = Compositor()
    compositor.configure("video", background=video, light_wrap=0.0)
    alpha = np.zeros((36, 64), np.float32)  # all background
    frame = np.zeros((36, 64, 3), np.uint8)
    clock = FakeClock()

    def show(seconds: float) -> list[np.ndarray]:
        """Output frames at 10 Hz for `seconds` of fake time, each once its frame is decoded."""
        outputs = []
        for _ in range(round(seconds * 10)):
            assert video.wait_until_decoded(clock.now_s(), timeout_s=10.0)
            outputs.append(compositor.apply(frame, alpha, clock.now_s()))
            clock.advance(0.1)
        return outputs

    show(0.3)
    path.write_bytes(b"")  # truncated in place: the open file shrinks to nothing
    for output in show(4.0):  # past the end of the video, where it must start again
        assert np.abs(output.reshape(-1, 3).mean(axis=0) - RED_BGR).max() < 12  # last frame
    assert len(compositor.messages) == 1
    assert "loop.mp4" in compositor.messages[0] and "empty" in compositor.messages[0]
    path.write_bytes(good)  # the file is back
    show(6.0)  # it is tried again every 5 s
    assert compositor.messages[-1] == f"Background video '{path}' plays again."
    compositor.close()


def test_a_video_background_deleted_while_in_use_keeps_playing(tmp_path: Path) -> None:
    background = VideoBackground(str(_write_video(tmp_path / "loop.mp4")))
    background.frame(32, 24, at_s=0.0)
    os.remove(background.path)
    frames = []
    for index in range(1, 40):  # past the end (3 s): it loops or holds
        assert background.wait_until_decoded(index * 0.1, timeout_s=10.0)
        frames.append(background.frame(32, 24, at_s=index * 0.1))
    assert all(np.abs(f.reshape(-1, 3).mean(axis=0) - RED_BGR).max() < 12 for f in frames)
    background.close()


def _settings(**effect: Any) -> Settings:
    settings = Settings()
    source = dataclasses.replace(settings.source, spec="demo", width_px=320, height_px=240)
    mask = dataclasses.replace(settings.mask, model="general")
    return dataclasses.replace(settings, source=source, mask=mask,
                               effect=dataclasses.replace(settings.effect, **effect))


@pytest.fixture
def pipelines() -> Iterator[list[Pipeline]]:
    started: list[Pipeline] = []
    yield started
    for pipeline in started:
        pipeline.stop()


def _run(pipelines: list[Pipeline], settings: Settings) -> tuple[Pipeline, Preview]:
    preview = Preview()
    pipeline = Pipeline(settings, DemoSource(320, 240, 30.0), NullSink(), on_frame=preview)
    pipelines.append(pipeline)
    pipeline.start()
    _wait_until(lambda: preview.count() >= 3, "the first frames")
    return pipeline, preview


def _corner_bgr(frame_bgr: np.ndarray) -> np.ndarray:
    return frame_bgr[:30, :30].reshape(-1, 3).mean(axis=0)


def test_a_running_video_background_that_breaks_keeps_its_last_frame_and_the_status_says_why(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    path = _write_video(tmp_path / "beach.mp4")
    pipeline, preview = _run(pipelines, _settings(kind="video", video=str(path), light_wrap=0.0))
    path.write_bytes(np.random.default_rng(3).bytes(3000))  # overwritten with junk in place
    _wait_until(lambda: any("beach.mp4" in m for m in pipeline.messages), "the message")
    shown = preview.count()
    _wait_until(lambda: preview.count() >= shown + 5, "frames keep coming")
    assert np.abs(_corner_bgr(preview.frames[-1]) - RED_BGR).max() < 12  # not black
    assert "cannot be read any more" in pipeline.snapshot().message
    assert pipeline.running and pipeline.error is None


def test_switching_to_a_corrupt_image_keeps_the_previous_background_and_names_the_file(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    good = tmp_path / "red.png"
    cv2.imwrite(str(good), np.full((90, 160, 3), RED_BGR, np.uint8))
    settings = _settings(kind="image", background=str(good), light_wrap=0.0)
    pipeline, preview = _run(pipelines, settings)
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(good.read_bytes()[:100])  # a half-copied file
    pipeline.update_settings(dataclasses.replace(
        settings, effect=dataclasses.replace(settings.effect, background=str(bad))))
    _wait_until(lambda: any("holiday.jpg" in m for m in pipeline.messages), "the message")
    assert "The previous background stays." in pipeline.messages.recent()[-1]
    shown = preview.count()
    _wait_until(lambda: preview.count() >= shown + 3, "frames keep coming")
    assert np.abs(_corner_bgr(preview.frames[-1]) - RED_BGR).max() < 12


# --- models -----------------------------------------------------------------------------------
def _model_without_metadata(path: Path) -> Path:
    """A real TFLite flatbuffer that MediaPipe refuses (no segmenter metadata)."""
    import flatbuffers
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAsModel(GENERAL.path.read_bytes(), 0))
    model.metadata = []
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path


@pytest.mark.parametrize("kind", ["garbage", "no metadata"])
def test_a_corrupt_model_in_the_settings_falls_back_to_the_bundled_one_and_is_named(
    tmp_path: Path, pipelines: list[Pipeline], kind: str
) -> None:
    path = tmp_path / "portrait_pro.tflite"
    if kind == "garbage":
        path.write_bytes(b"TFL3" + np.random.default_rng(4).bytes(5000))
    else:
        _model_without_metadata(path)
    settings = dataclasses.replace(
        _settings(kind="blur"), mask=dataclasses.replace(Settings().mask, model=str(path)))
    pipeline, preview = _run(pipelines, settings)
    assert any("portrait_pro.tflite" in m and "bundled model" in m for m in pipeline.messages)
    assert "landscape" in pipeline.describe() or "general" in pipeline.describe()
    shown = preview.count()
    _wait_until(lambda: preview.count() >= shown + 3, "frames keep coming")


# --- settings, end to end ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"[effect\nkind = 'blur", "not valid TOML"),
        (b"\xff\xfe\x00garbage\x00", "not valid TOML"),
    ],
)
def test_run_with_a_bad_settings_file_says_so_keeps_a_backup_and_runs_on_defaults(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_bytes(content)
    env = dict(os.environ, BACKDROP_CONFIG_DIR=str(config), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "run", "--source", "demo", "--output", "out.y4m",
         "--frames", "3", "--size", "320x240", "--quiet"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert reason in result.stderr and "Using the defaults" in result.stderr
    backups = list(config.glob("settings.toml.bad-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == content
    assert str(backups[0]) in result.stderr
    assert (tmp_path / "out.y4m").read_bytes().count(b"FRAME\n") == 3


def test_run_with_a_settings_file_from_a_newer_version_uses_it_and_leaves_it_newer(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_text(
        "schema_version = 99\nwidgets = 3\n[effect]\nkind = 'color'\ncolor_rgb = [0, 0, 255]\n"
    )
    env = dict(os.environ, BACKDROP_CONFIG_DIR=str(config), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "run", "--source", "demo", "--output", "out.y4m",
         "--frames", "3", "--size", "320x240", "--quiet"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "written by a newer Backdrop" in result.stderr
    assert list(config.glob("settings.toml.bad-*")) == []
    kept = load_settings(config / "settings.toml")
    assert kept.settings.effect.kind == "color" and kept.settings.effect.color_rgb == (0, 0, 255)
    assert kept.settings.gui.first_run_notice_shown, "the run saved that the notice was shown"
    kept_text = (config / "settings.toml").read_text()
    assert "schema_version = 99" in kept_text and "widgets = 3" in kept_text
    assert (tmp_path / "out.y4m").read_bytes().count(b"FRAME\n") == 3


def test_a_bad_settings_file_that_cannot_be_backed_up_still_gives_defaults_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(b"[effect\n")

    def read_only_folder(*_args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", read_only_folder)
    loaded = load_settings(path)
    assert loaded.settings == Settings()
    assert any("not valid TOML" in m for m in loaded.messages)
    assert any("could not keep a backup" in m and "Permission denied" in m
               for m in loaded.messages)
