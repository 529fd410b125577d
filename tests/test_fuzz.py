"""Fuzzing the file inputs: random and damaged bytes through the image, video, model and
settings loaders. Every case ends in a handled error with a message naming the file (or in a
usable result), never in a crash or a hang.

Case counts: images 1000, models 1500, settings 1000; videos 150 (FFmpeg probing each file is
slower); MediaPipe itself 12 damaged models, in a child process, because its C++ code may
abort the whole process on a malformed model.

The cases are the same on every run (derandomized), so CI cannot turn red by luck; set
BACKDROP_FUZZ_RANDOM=1 to explore new cases, and turn what it finds into a fixed test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.devices.frames import SourceError
from app.devices.sources import VideoFileSource
from app.settings import Settings, load_settings
from compositing.backgrounds import BackgroundError
from compositing.files import load_background
from segmentation.models import GENERAL, ModelError, ModelSpec, custom_model

ROOT = Path(__file__).resolve().parents[1]
MODEL_BYTES = GENERAL.path.read_bytes()


def _fuzz(examples: int) -> Any:
    return settings(
        max_examples=examples, deadline=None, database=None,
        derandomize=not os.environ.get("BACKDROP_FUZZ_RANDOM"),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _encoded(extension: str, image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(extension, image)
    assert ok
    return encoded.tobytes()


def _sample_image() -> np.ndarray:
    image = np.zeros((24, 32, 3), np.uint8)
    cv2.circle(image, (16, 12), 8, (40, 200, 90), -1)
    return image


PNG_BYTES = _encoded(".png", _sample_image())
JPEG_BYTES = _encoded(".jpg", _sample_image())
MAGIC = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"RIFF\x00\x00\x00\x00WEBPVP8 ",
         b"II*\x00", b"MM\x00*", b"GIF89a", b"\x00\x00\x00\x18ftypmp42", b"\x1aE\xdf\xa3",
         b"TFL3", b"\x1c\x00\x00\x00TFL3"]


@st.composite
def damaged(draw: st.DrawFn, original: bytes) -> bytes:
    """A real file with some bytes changed, and maybe cut short."""
    data = bytearray(original)
    for position, value in draw(st.lists(
        st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=12
    )):
        data[position] = value
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def junk_with_magic() -> st.SearchStrategy[bytes]:
    return st.builds(lambda magic, rest: magic + rest, st.sampled_from(MAGIC),
                     st.binary(max_size=2048))


def file_bytes(*originals: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=4096), junk_with_magic(),
                     *[damaged(original) for original in originals])


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="backdrop-fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@_fuzz(1000)
@given(data=file_bytes(PNG_BYTES, JPEG_BYTES),
       extension=st.sampled_from([".png", ".jpg", ".webp", ".bmp", ".tif", ".background"]))
def test_image_backgrounds_load_or_are_refused_naming_the_file(
    scratch: Path, data: bytes, extension: str
) -> None:
    path = _write(scratch, "fuzzed" + extension, data)
    try:
        background = load_background(str(path))
    except BackgroundError as error:
        assert "fuzzed" + extension in str(error)
        return
    frame = background.frame(32, 18, 0.0)
    assert frame.shape == (18, 32, 3) and frame.dtype == np.uint8
    background.close()


def _sample_video(folder: Path) -> bytes:
    path = folder / "sample.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (32, 24))
    for index in range(4):
        writer.write(np.full((24, 32, 3), index * 60, np.uint8))
    writer.release()
    return path.read_bytes()


VIDEO_BYTES = _sample_video(Path(tempfile.mkdtemp(prefix="backdrop-fuzz-video-")))


@_fuzz(150)
@given(data=file_bytes(VIDEO_BYTES))
def test_video_backgrounds_and_sources_load_or_are_refused_naming_the_file(
    scratch: Path, data: bytes
) -> None:
    path = _write(scratch, "fuzzed.mp4", data)
    try:
        background = load_background(str(path))
    except BackgroundError as error:
        assert "fuzzed.mp4" in str(error)
    else:
        for index in range(6):  # past the end (0.4 s): it loops, or holds its last frame
            background.wait_until_decoded(index * 0.1, timeout_s=10.0)
            assert background.frame(16, 12, at_s=index * 0.1).shape == (12, 16, 3)
        background.close()
    source = VideoFileSource(path, loop=True, paced=False)
    try:
        source.open()
        for _ in range(6):
            source.read()
    except SourceError as error:
        assert "fuzzed.mp4" in str(error)
    finally:
        source.close()


@_fuzz(1500)
@given(data=file_bytes(MODEL_BYTES[:4096], MODEL_BYTES))
def test_model_files_are_inspected_or_refused_naming_the_file(scratch: Path, data: bytes) -> None:
    path = _write(scratch, "fuzzed.tflite", data)
    try:
        spec = custom_model(path)
    except ModelError as error:
        assert "fuzzed.tflite" in str(error)
        return
    assert isinstance(spec, ModelSpec) and min(spec.input_size) > 0


_SETTING_NAMES = ["schema_version", "source", "effect", "mask", "output", "gui", "spec", "kind",
                  "blur", "color_rgb", "model", "smoothing", "mirror", "user_backgrounds"]
_SCALARS = st.one_of(st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(),
                     st.text(max_size=12))
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(_SETTING_NAMES) | st.text(max_size=6), children,
                      max_size=3),
    max_leaves=8,
)


@st.composite
def settings_files(draw: st.DrawFn) -> bytes:
    """TOML documents shaped like a settings file with odd values, or just bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=512))
    document = draw(st.dictionaries(st.sampled_from(_SETTING_NAMES) | st.text(max_size=6),
                                    _VALUES, max_size=5))
    return tomli_w.dumps(document).encode("utf-8")


@_fuzz(1000)
@given(data=settings_files())
def test_any_settings_file_gives_valid_settings_and_the_next_start_is_clean(
    scratch: Path, data: bytes
) -> None:
    folder = Path(tempfile.mkdtemp(dir=scratch))
    path = _write(folder, "settings.toml", data)
    loaded = load_settings(path)
    assert isinstance(loaded.settings, Settings)
    if loaded.messages:
        assert any(str(path) in message for message in loaded.messages)
    again = load_settings(path)  # the file was repaired or moved aside: no second complaint...
    assert again.settings == loaded.settings
    # ...except a newer Backdrop's file, which is kept as it is and so is named each start
    assert all("written by a newer Backdrop" in message for message in again.messages)
    shutil.rmtree(folder)


_MEDIAPIPE_CHILD = """
import sys
import numpy as np
from pathlib import Path
from segmentation.models import ModelError, custom_model
from segmentation.segmenter import VideoSegmenter

for name in sys.argv[1:]:
    try:
        spec = custom_model(Path(name))
        segmenter = VideoSegmenter(spec)
        frame = np.zeros((spec.input_height_px, spec.input_width_px, 3), np.uint8)
        segmenter.segment(frame, 0)
        segmenter.close()
        print("ok", name, flush=True)
    except ModelError as error:
        assert Path(name).name in str(error), error
        print("refused", name, flush=True)
"""


def test_mediapipe_refuses_damaged_models_without_taking_the_process_down(scratch: Path) -> None:
    rng = np.random.default_rng(7)
    paths = []
    for case in range(12):
        data = bytearray(MODEL_BYTES)
        if case % 3 == 1:
            data = data[: int(rng.integers(8, len(data)))]
        else:
            span = 65536 if case % 3 == 0 else len(data)  # the structure, or anywhere
            for position in rng.integers(8, span, size=int(rng.integers(1, 40))):
                data[int(position)] = int(rng.integers(0, 256))
        paths.append(str(_write(scratch, f"damaged_{case}.tflite", bytes(data))))
    result = subprocess.run(
        [sys.executable, "-c", _MEDIAPIPE_CHILD, *paths], capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    outcomes = result.stdout.split()
    assert len(outcomes) == 2 * len(paths)
    assert "refused" in outcomes  # the damage was real enough to be noticed
