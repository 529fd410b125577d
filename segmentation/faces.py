"""Where the face is: MediaPipe's short-range BlazeFace, run every few frames, tracked between.

The detector sees a 128x128 square (its own input size) once every `detect_every` frames; in
between, the tracked box eases towards the newest detection, so the studio effects that follow
the face (light, touch-up) move smoothly and the detector costs a fraction of a millisecond per
frame on average. The square is never squashed from the frame's shape (a face squashed into it
came back as a box 1.8 times wider than tall): it is a square around the tracked face, three
times its size, or while no face is known (or it was missed there), in turn the whole frame
(padded to a square) and the upper middle of the frame, where a face sits in a call, so a face
too small for the whole frame (BlazeFace needs about 16 of its 128 pixels) is still found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from compositing.downscale import shrink_to
from segmentation.mediapipe_tasks import defer_unused_modules
from segmentation.models import MODELS_DIR, ModelError
from segmentation.segmenter import mp_image, native_stderr_silenced

FACE_MODEL_PATH = MODELS_DIR / "face_detection_short_range.tflite"
DETECTOR_INPUT_PX = 128
_MIN_SCORE = 0.5
# A face missed by this many detections in a row is gone (a blink of the detector is not).
_MISSES_TO_LOSE = 3
# The square around a tracked face, in face sizes: room for it to move between detections.
_TRACKED_SQUARE_FACES = 3.0
# While searching: the upper-middle square's side and top, as shares of the frame's height.
_SEARCH_SQUARE_HEIGHTS = 0.6
_SEARCH_TOP_HEIGHTS = 0.05


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


def _square_input(frame_bgr: np.ndarray, square: tuple[float, float, float]) -> np.ndarray:
    """The detector's RGB input: `square` (x0, y0, side) of the frame at 128x128, black where
    it reaches past the frame."""
    x0, y0, side = square
    height_px, width_px = frame_bgr.shape[:2]
    scale = DETECTOR_INPUT_PX / side
    left, top = max(0, round(x0)), max(0, round(y0))
    right, bottom = min(width_px, round(x0 + side)), min(height_px, round(y0 + side))
    square_rgb = np.zeros((DETECTOR_INPUT_PX, DETECTOR_INPUT_PX, 3), np.uint8)
    if right <= left or bottom <= top:
        return square_rgb
    # Even sides, so the halvings stay on OpenCV's fast path (a pixel less of the square).
    right, bottom = left + (right - left) // 2 * 2, top + (bottom - top) // 2 * 2
    if right <= left or bottom <= top:
        return square_rgb
    inside = frame_bgr[top:bottom, left:right]
    size = (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale)))
    size = (min(size[0], DETECTOR_INPUT_PX), min(size[1], DETECTOR_INPUT_PX))
    small = shrink_to(inside, size)
    at_x = min(max(0, round((left - x0) * scale)), DETECTOR_INPUT_PX - size[0])
    at_y = min(max(0, round((top - y0) * scale)), DETECTOR_INPUT_PX - size[1])
    square_rgb[at_y : at_y + size[1], at_x : at_x + size[0]] = cv2.cvtColor(
        small, cv2.COLOR_BGR2RGB)
    return square_rgb


def _from_square(face: Face, square: tuple[float, float, float]) -> Face:
    """A face found in the detector's input (normalised) in frame pixels."""
    x0, y0, side = square
    bx0, by0, bx1, by1 = face.box
    box = (x0 + bx0 * side, y0 + by0 * side, x0 + bx1 * side, y0 + by1 * side)
    offset = np.array([x0, y0], np.float32)
    return Face(box, face.keypoints * np.float32(side) + offset, face.score)


def _ease(current: Face, target: Face, weight: float) -> Face:
    box = tuple(c + weight * (t - c) for c, t in zip(current.box, target.box, strict=True))
    keypoints = current.keypoints + weight * (target.keypoints - current.keypoints)
    return Face(box, keypoints.astype(np.float32), target.score)  # type: ignore[arg-type]


class FaceTracker:
    """`update(frame_bgr, timestamp_ms) -> Face | None`: the main face, smoothly tracked.

    Detects on every `detect_every`-th frame while it searches, and on every `tracked_every`-th
    (default the same) while the last look, in the square around the face, found it; each
    frame eases the box `ease` of the way to the newest detection. State is keyed by the frame
    size: a new size starts afresh.
    """

    def __init__(
        self, detect: Detect, detect_every: int = 4, ease: float = 0.35,
        tracked_every: int | None = None,
    ) -> None:
        self._detect = detect
        self.detect_every = max(1, detect_every)
        self.tracked_every = max(1, tracked_every or detect_every)
        self.ease = ease
        self.reset()

    def reset(self) -> None:
        self._size: tuple[int, int] | None = None
        self._frames_to_detect = 0
        self._target: Face | None = None
        self._face: Face | None = None
        self._misses = 0
        self._searches = 0

    def update(self, frame_bgr: np.ndarray, timestamp_ms: int) -> Face | None:
        height_px, width_px = frame_bgr.shape[:2]
        if self._size != (width_px, height_px):
            self.reset()
            self._size = (width_px, height_px)
        if self._frames_to_detect <= 0:
            self._on_detected(self._run_detector(frame_bgr, timestamp_ms))
            found = self._target is not None and self._misses == 0
            self._frames_to_detect = self.tracked_every if found else self.detect_every
        self._frames_to_detect -= 1
        if self._target is None:
            self._face = None
        elif self._face is None:
            self._face = self._target
        else:
            self._face = _ease(self._face, self._target, self.ease)
        return self._face

    def _run_detector(self, frame_bgr: np.ndarray, timestamp_ms: int) -> list[Face]:
        """Faces (in frame pixels) found in this detection's square of the frame."""
        square = self._square(*frame_bgr.shape[1::-1])
        faces = self._detect(_square_input(frame_bgr, square), timestamp_ms)
        return [_from_square(face, square) for face in faces]

    def _square(self, width_px: int, height_px: int) -> tuple[float, float, float]:
        """(x0, y0, side) of the square the detector sees this time, in frame pixels."""
        if self._target is not None and self._misses == 0:
            x0, y0, x1, y1 = self._target.box
            side = _TRACKED_SQUARE_FACES * max(x1 - x0, y1 - y0)
            side = min(max(side, float(DETECTOR_INPUT_PX)), float(max(width_px, height_px)))
            return (x0 + x1 - side) / 2.0, (y0 + y1 - side) / 2.0, side
        self._searches += 1
        if self._searches % 2:  # the whole frame, padded to a square
            side = float(max(width_px, height_px))
            return (width_px - side) / 2.0, (height_px - side) / 2.0, side
        side = _SEARCH_SQUARE_HEIGHTS * height_px
        return (width_px - side) / 2.0, _SEARCH_TOP_HEIGHTS * height_px, side

    def _on_detected(self, faces: list[Face]) -> None:
        if faces:
            self._target = faces[0]
            self._misses = 0
            self._searches = 0  # if she is lost, look at the whole frame first
            return
        self._misses += 1
        if self._misses >= _MISSES_TO_LOSE:
            self._target = None
