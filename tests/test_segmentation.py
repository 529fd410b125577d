"""The real MediaPipe models on the real demo portrait, and the model registry's errors."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from segmentation.models import GENERAL, LANDSCAPE, ModelError, custom_model, resolve_model
from segmentation.segmenter import LiveSegmenter, VideoSegmenter, person_confidence, prepare_input

PORTRAIT = Path(__file__).resolve().parents[1] / "assets" / "demo" / "astronaut.png"


def _portrait_frame(width_px: int, height_px: int) -> np.ndarray:
    """The portrait centred on a plain grey wall, like a webcam frame."""
    portrait = cv2.imread(str(PORTRAIT))
    scale = height_px / portrait.shape[0]
    portrait = cv2.resize(portrait, None, fx=scale, fy=scale)
    frame = np.full((height_px, width_px, 3), 128, np.uint8)
    left = (width_px - portrait.shape[1]) // 2
    frame[:, left:left + portrait.shape[1]] = portrait
    return frame


def _assert_person_layout(confidence: np.ndarray) -> None:
    """Face and torso are person; the frame's top corners are not."""
    height, width = confidence.shape
    face = confidence[int(height * 0.15):int(height * 0.35), int(width * 0.40):int(width * 0.48)]
    torso = confidence[int(height * 0.70):int(height * 0.90), int(width * 0.35):int(width * 0.50)]
    corners = [confidence[: height // 8, : width // 10], confidence[: height // 8, -width // 10:]]
    assert face.mean() > 0.9
    assert torso.mean() > 0.9
    for corner in corners:
        assert corner.mean() < 0.1


@pytest.mark.parametrize("spec", [GENERAL, LANDSCAPE], ids=["general", "landscape"])
def test_video_segmenter_finds_the_person_in_the_demo_portrait(spec: object) -> None:
    frame = _portrait_frame(1280, 720)
    segmenter = VideoSegmenter(spec)  # type: ignore[arg-type]
    try:
        confidence = segmenter.segment(prepare_input(frame, segmenter.spec), 0)
    finally:
        segmenter.close()
    assert confidence.shape == (segmenter.spec.input_height_px, segmenter.spec.input_width_px)
    assert confidence.dtype == np.float32
    _assert_person_layout(confidence)


def test_live_segmenter_returns_each_frames_own_mask_by_timestamp() -> None:
    frame = _portrait_frame(1280, 720)
    segmenter = LiveSegmenter(LANDSCAPE)
    results: dict[int, np.ndarray] = {}
    try:
        for timestamp_ms in (10, 50, 90):
            segmenter.submit(prepare_input(frame, LANDSCAPE), timestamp_ms)
            deadline_s = time.monotonic() + 5.0
            while timestamp_ms not in results and time.monotonic() < deadline_s:
                segmenter.wait_for_results(0.5)
                results.update(segmenter.take_results())
    finally:
        segmenter.close()
        segmenter.close()  # closing twice is safe
    assert set(results) == {10, 50, 90}
    _assert_person_layout(results[90])


def test_live_segmenter_refuses_timestamps_that_do_not_increase() -> None:
    segmenter = LiveSegmenter(LANDSCAPE)
    small = np.zeros((144, 256, 3), np.uint8)
    try:
        segmenter.submit(small, 5)
        with pytest.raises(ValueError, match="strictly increase"):
            segmenter.submit(small, 5)
    finally:
        segmenter.close()


def test_the_stored_mask_is_a_copy_not_mediapipes_buffer() -> None:
    class _Mask:
        def __init__(self, values: np.ndarray) -> None:
            self._values = values

        def numpy_view(self) -> np.ndarray:
            return self._values

    buffer = np.full((4, 4, 1), 0.8, np.float32)
    confidence = person_confidence([_Mask(buffer)])
    buffer[:] = 0.0
    assert np.allclose(confidence, 0.8)


def test_multiclass_person_confidence_is_one_minus_background() -> None:
    class _Mask:
        def __init__(self, value: float) -> None:
            self._values = np.full((2, 3, 1), value, np.float32)

        def numpy_view(self) -> np.ndarray:
            return self._values

    confidence = person_confidence([_Mask(0.25), _Mask(0.5), _Mask(0.25)])
    assert confidence.shape == (2, 3)
    assert np.allclose(confidence, 0.75)


@pytest.mark.parametrize(
    ("width_px", "height_px", "expected"),
    [(1280, 720, LANDSCAPE), (1920, 1080, LANDSCAPE), (640, 480, GENERAL), (720, 1280, GENERAL)],
)
def test_auto_picks_landscape_only_for_frames_wider_than_4_3(
    width_px: int, height_px: int, expected: object
) -> None:
    assert resolve_model("auto", width_px, height_px) == expected


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.tflite"
    with pytest.raises(ModelError, match="nowhere.tflite.*does not exist"):
        resolve_model(str(missing), 1280, 720)


def test_a_file_that_is_not_a_model_is_named(tmp_path: Path) -> None:
    bogus = tmp_path / "photo.tflite"
    bogus.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(ModelError, match="photo.tflite.*not a TensorFlow Lite model"):
        custom_model(bogus)


def test_a_truncated_model_is_refused(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.tflite"
    truncated.write_bytes(GENERAL.path.read_bytes()[:64])
    with pytest.raises(ModelError, match="cut.tflite"):
        VideoSegmenter(custom_model(truncated))


def test_a_model_without_tasks_metadata_is_refused_with_its_name(tmp_path: Path) -> None:
    import flatbuffers
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAsModel(GENERAL.path.read_bytes(), 0))
    model.metadata = []
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), b"TFL3")
    bare = tmp_path / "bare.tflite"
    bare.write_bytes(bytes(builder.Output()))
    spec = custom_model(bare)
    assert spec.input_size == (256, 256)
    with pytest.raises(ModelError, match="bare.tflite"):
        VideoSegmenter(spec)


def test_a_custom_model_reports_its_input_size() -> None:
    spec = custom_model(LANDSCAPE.path)
    assert spec.input_size == (256, 144)
