"""Where the face is: MediaPipe's short-range BlazeFace, run every few frames, tracked between.

The detector sees a 128x128 copy of the frame (its own input size) once every `detect_every`
frames; in between, the tracked box eases towards the newest detection, so the studio effects
that follow the face (light, touch-up) move smoothly and the detector costs a fraction of a
millisecond per frame on average.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from segmentation.mediapipe_tasks import defer_unused_modules
from segmentation.models import MODELS_DIR, ModelError
from segmentation.segmenter import mp_image, native_stderr_silenced

FACE_MODEL_PATH = MODELS_DIR / "face_detection_short_range.tflite"
DETECTOR_INPUT_PX = 128
_MIN_SCORE = 0.5
# A face missed by this many detections in a row is gone (a blink of the detector is not).
_MISSES_TO_LOSE = 3


@dataclass(frozen=True)
class Face:
    """One face in frame pixels: its box (x1, y1 exclusive), six keypoints and the score.

    Keypoints, as BlazeFace orders them: right eye, left eye, nose tip, mouth, right ear,
    left ear (the person's right and left), each (x, y).
    """

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float

    @property
    def eyes(self) -> np.ndarray:
        """The two eye centres, (2, 2) in frame pixels."""
        return self.keypoints[:2]


# A detector takes the 128x128 RGB input and a timestamp and returns faces in normalised
# [0, 1] coordinates of that input; the real one is `BlazeFaceDetector.detect`.
Detect = Callable[[np.ndarray, int], list[Face]]


class BlazeFaceDetector:
    """The MediaPipe Tasks FaceDetector in VIDEO mode: synchronous, strictly rising timestamps."""

    def __init__(self, model_path: str = str(FACE_MODEL_PATH)) -> None:
        defer_unused_modules()
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_path=model_path),
            running_mode=vision.RunningMode.VIDEO,
            min_detection_confidence=_MIN_SCORE,
        )
        try:
            with native_stderr_silenced():
                self._detector = vision.FaceDetector.create_from_options(options)
        except (ValueError, RuntimeError, FileNotFoundError, OSError) as error:
            raise ModelError(
                f"MediaPipe cannot use '{model_path}' as a face detector: {error}"
            ) from error
        self._last_timestamp_ms = -1
        self._closed = False

    def detect(self, input_rgb: np.ndarray, timestamp_ms: int) -> list[Face]:
        """Faces in the input, best first, in normalised coordinates."""
        timestamp_ms = max(timestamp_ms, self._last_timestamp_ms + 1)
        self._last_timestamp_ms = timestamp_ms
        result = self._detector.detect_for_video(mp_image(input_rgb), timestamp_ms)
        height_px, width_px = input_rgb.shape[:2]
        faces = [_normalised_face(d, width_px, height_px) for d in result.detections]
        return sorted(faces, key=lambda face: -face.score)

    def close(self) -> None:
        """Release MediaPipe's graph; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._detector.close()


def _normalised_face(detection: Any, width_px: int, height_px: int) -> Face:
    b = detection.bounding_box
    box = (
        b.origin_x / width_px, b.origin_y / height_px,
        (b.origin_x + b.width) / width_px, (b.origin_y + b.height) / height_px,
    )
    keypoints = np.array([(k.x, k.y) for k in detection.keypoints], np.float32).reshape(-1, 2)
    return Face(box, keypoints, float(detection.categories[0].score))


def _to_frame(face: Face, width_px: int, height_px: int) -> Face:
    x0, y0, x1, y1 = face.box
    scale = np.array([width_px, height_px], np.float32)
    box = (x0 * width_px, y0 * height_px, x1 * width_px, y1 * height_px)
    return Face(box, face.keypoints * scale, face.score)


def _ease(current: Face, target: Face, weight: float) -> Face:
    box = tuple(c + weight * (t - c) for c, t in zip(current.box, target.box, strict=True))
    keypoints = current.keypoints + weight * (target.keypoints - current.keypoints)
    return Face(box, keypoints.astype(np.float32), target.score)  # type: ignore[arg-type]


class FaceTracker:
    """`update(frame_bgr, timestamp_ms) -> Face | None`: the main face, smoothly tracked.

    Detects on every `detect_every`-th frame; each frame eases the box `ease` of the way to
    the newest detection. State is keyed by the frame size: a new size starts afresh.
    """

    def __init__(self, detect: Detect, detect_every: int = 4, ease: float = 0.35) -> None:
        self._detect = detect
        self.detect_every = max(1, detect_every)
        self.ease = ease
        self.reset()

    def reset(self) -> None:
        self._size: tuple[int, int] | None = None
        self._frames_to_detect = 0
        self._target: Face | None = None
        self._face: Face | None = None
        self._misses = 0

    def update(self, frame_bgr: np.ndarray, timestamp_ms: int) -> Face | None:
        height_px, width_px = frame_bgr.shape[:2]
        if self._size != (width_px, height_px):
            self.reset()
            self._size = (width_px, height_px)
        if self._frames_to_detect <= 0:
            self._frames_to_detect = self.detect_every
            self._on_detected(self._run_detector(frame_bgr, timestamp_ms), width_px, height_px)
        self._frames_to_detect -= 1
        if self._target is None:
            self._face = None
        elif self._face is None:
            self._face = self._target
        else:
            self._face = _ease(self._face, self._target, self.ease)
        return self._face

    def _run_detector(self, frame_bgr: np.ndarray, timestamp_ms: int) -> list[Face]:
        # Bilinear to twice the input, then area: INTER_AREA on a whole 720p frame costs ~3 ms.
        double = 2 * DETECTOR_INPUT_PX
        small = cv2.resize(frame_bgr, (double, double), interpolation=cv2.INTER_LINEAR)
        size = (DETECTOR_INPUT_PX, DETECTOR_INPUT_PX)
        small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
        return self._detect(cv2.cvtColor(small, cv2.COLOR_BGR2RGB), timestamp_ms)

    def _on_detected(self, faces: list[Face], width_px: int, height_px: int) -> None:
        if faces:
            self._target = _to_frame(faces[0], width_px, height_px)
            self._misses = 0
            return
        self._misses += 1
        if self._misses >= _MISSES_TO_LOSE:
            self._target = None
