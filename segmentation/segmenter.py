"""MediaPipe ImageSegmenter wrappers: LIVE_STREAM for cameras, VIDEO for files and tests.

Both take a frame already resized to the model's input size, so MediaPipe returns the mask at
model resolution instead of upsampling it for us; Backdrop upsamples once, guided by the frame.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import cv2
import numpy as np

from compositing.downscale import shrink_to
from segmentation.mediapipe_tasks import defer_unused_modules
from segmentation.models import ModelError, ModelSpec

# Keep MediaPipe's C++ logging to errors; its info lines would bury Backdrop's own messages.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Results not collected within this many newer results are dropped (the consumer fell behind).
_MAX_STORED_RESULTS = 4


def model_input(
    frame_bgr: np.ndarray, size: tuple[int, int], halves: Sequence[np.ndarray] = ()
) -> np.ndarray:
    """The BGR frame at the model's input `size`, by the one reduction recipe (`shrink_to`);
    `halves`, the frame's `halvings` when the caller made them already, saves making them."""
    return shrink_to(halves[-1] if halves else frame_bgr, size)


def prepare_input(frame_bgr: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """A BGR frame as the contiguous RGB model input."""
    return cv2.cvtColor(model_input(frame_bgr, spec.input_size), cv2.COLOR_BGR2RGB)


def person_confidence(confidence_masks: list[Any]) -> np.ndarray:
    """Copy the person confidence out of MediaPipe's masks.

    A one-output model gives the person confidence directly; a multi-class model (such as
    Google's selfie_multiclass) gives one mask per category with background first.
    """
    first = np.asarray(confidence_masks[0].numpy_view(), dtype=np.float32)
    first = first.reshape(first.shape[0], first.shape[1])
    if len(confidence_masks) == 1:
        return first.copy()
    return np.subtract(1.0, first, dtype=np.float32)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Hide MediaPipe's C++ start-up chatter (it writes straight to file descriptor 2)."""
    try:
        saved_fd = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved_fd, 2)
        os.close(saved_fd)


def _create(spec: ModelSpec, mode: str, callback: Any = None) -> Any:
    defer_unused_modules()
    from mediapipe.tasks.python import BaseOptions, vision

    running_mode = getattr(vision.RunningMode, mode)
    options = vision.ImageSegmenterOptions(
        base_options=BaseOptions(model_asset_path=str(spec.path)),
        running_mode=running_mode,
        output_confidence_masks=True,
        output_category_mask=False,
        result_callback=callback,
    )
    try:
        with native_stderr_silenced():
            return vision.ImageSegmenter.create_from_options(options)
    except (ValueError, RuntimeError, FileNotFoundError, OSError) as error:
        raise ModelError(
            f"MediaPipe cannot use '{spec.path}' as an image segmenter: {error}. "
            "Choose a MediaPipe segmentation model with metadata, or use --model auto."
        ) from error


def mp_image(frame_small_rgb: np.ndarray) -> Any:
    defer_unused_modules()
    import mediapipe as mp

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame_small_rgb))


class LiveSegmenter:
    """LIVE_STREAM segmentation: `submit` returns at once, results arrive on MediaPipe's thread.

    MediaPipe drops frames while it is busy; those never produce a result, and the caller simply
    never gets a mask for them. Results are keyed by timestamp so each frame is composited with
    the mask computed from that same frame.
    """

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._condition = threading.Condition()
        self._results: dict[int, np.ndarray] = {}
        self._last_timestamp_ms = -1
        self._closed = False
        self._segmenter = _create(spec, "LIVE_STREAM", self._on_result)

    def submit(self, frame_small_rgb: np.ndarray, timestamp_ms: int) -> None:
        """Queue one frame; `timestamp_ms` must be larger than every earlier one."""
        if timestamp_ms <= self._last_timestamp_ms:
            raise ValueError(
                f"timestamps must strictly increase: {timestamp_ms} after {self._last_timestamp_ms}"
            )
        self._last_timestamp_ms = timestamp_ms
        self._segmenter.segment_async(mp_image(frame_small_rgb), timestamp_ms)

    def _on_result(self, result: Any, _image: Any, timestamp_ms: int) -> None:
        """On MediaPipe's thread: copy the mask, store it, wake the consumer. Nothing else."""
        confidence = person_confidence(result.confidence_masks)
        with self._condition:
            self._results[timestamp_ms] = confidence
            while len(self._results) > _MAX_STORED_RESULTS:
                del self._results[min(self._results)]
            self._condition.notify_all()

    def wait_for_results(self, timeout_s: float) -> bool:
        """Block until at least one result is stored, or the timeout passes."""
        with self._condition:
            return self._condition.wait_for(lambda: bool(self._results), timeout=timeout_s)

    def take_results(self) -> dict[int, np.ndarray]:
        """Remove and return every stored result, oldest first."""
        with self._condition:
            results = dict(sorted(self._results.items()))
            self._results.clear()
        return results

    def close(self) -> None:
        """Stop MediaPipe's graph; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._segmenter.close()


class VideoSegmenter:
    """VIDEO-mode segmentation: every frame segmented, synchronously and deterministically."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._last_timestamp_ms = -1
        self._closed = False
        self._segmenter = _create(spec, "VIDEO")

    def segment(self, frame_small_rgb: np.ndarray, timestamp_ms: int) -> np.ndarray:
        """The person confidence for one frame at model resolution."""
        timestamp_ms = max(timestamp_ms, self._last_timestamp_ms + 1)
        self._last_timestamp_ms = timestamp_ms
        result = self._segmenter.segment_for_video(mp_image(frame_small_rgb), timestamp_ms)
        return person_confidence(result.confidence_masks)

    def close(self) -> None:
        """Release MediaPipe's graph; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._segmenter.close()
