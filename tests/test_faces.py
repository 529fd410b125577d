"""The real BlazeFace model on the demo, and the tracker's rate and easing on a fake detector."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from app.devices.demo import DemoRenderer, demo_person_regions
from segmentation.faces import BlazeFaceDetector, Face, FaceTracker


@pytest.fixture
def detector() -> Iterator[BlazeFaceDetector]:
    real = BlazeFaceDetector()
    yield real
    real.close()


def test_the_real_detector_finds_the_demo_face_with_its_eyes_inside_the_face(
    detector: BlazeFaceDetector,
) -> None:
    renderer = DemoRenderer(1280, 720)
    face_truth = demo_person_regions(1280, 720).face
    tracker = FaceTracker(detector.detect)
    for index in range(12):
        face = tracker.update(renderer.render(index / 30), index * 33)
        assert face is not None
        x0, y0, x1, y1 = face.box
        centre_x = (face_truth.x0 + face_truth.x1) / 2
        centre_y = (face_truth.y0 + face_truth.y1) / 2
        assert x0 < centre_x < x1 and y0 < centre_y < y1
        for eye_x, eye_y in face.eyes:
            assert x0 < eye_x < x1 and y0 < eye_y < (y0 + y1) / 2


def test_the_real_detector_finds_no_face_in_the_empty_room(detector: BlazeFaceDetector) -> None:
    room = np.full((720, 1280, 3), 90, np.uint8)
    tracker = FaceTracker(detector.detect, detect_every=1)
    assert all(tracker.update(room, index) is None for index in range(3))


class _FakeDetector:
    def __init__(self, boxes: list[tuple[float, float, float, float] | None]) -> None:
        self.boxes, self.calls = boxes, 0

    def detect(self, input_rgb: np.ndarray, timestamp_ms: int) -> list[Face]:
        assert input_rgb.shape == (128, 128, 3)
        box = self.boxes[min(self.calls, len(self.boxes) - 1)]
        self.calls += 1
        return [] if box is None else [Face(box, np.full((6, 2), 0.5, np.float32), 0.9)]


def test_the_detector_runs_every_fourth_frame_and_the_box_eases_between() -> None:
    fake = _FakeDetector([(0.1, 0.1, 0.2, 0.2), (0.5, 0.1, 0.6, 0.2)])
    tracker = FaceTracker(fake.detect, detect_every=4)
    frame = np.zeros((100, 200, 3), np.uint8)
    lefts = [tracker.update(frame, index).box[0] for index in range(12)]  # type: ignore[union-attr]
    assert fake.calls == 3
    assert lefts[:4] == pytest.approx([20.0] * 4)
    steps = np.diff(lefts[3:])
    assert (steps > 0).all() and steps.max() < 0.4 * (100 - 20)
    assert lefts[-1] == pytest.approx(100.0, abs=5.0)


def test_a_face_survives_one_missed_detection_and_is_gone_after_three() -> None:
    fake = _FakeDetector([(0.1, 0.1, 0.2, 0.2), None, None, None])
    tracker = FaceTracker(fake.detect, detect_every=1)
    frame = np.zeros((100, 200, 3), np.uint8)
    seen = [tracker.update(frame, index) is not None for index in range(5)]
    assert seen == [True, True, True, False, False]


def test_a_new_frame_size_forgets_the_old_box() -> None:
    fake = _FakeDetector([(0.1, 0.1, 0.2, 0.2)])
    tracker = FaceTracker(fake.detect, detect_every=100)
    tracker.update(np.zeros((100, 200, 3), np.uint8), 0)
    face = tracker.update(np.zeros((50, 100, 3), np.uint8), 1)
    assert fake.calls == 2 and face is not None and face.box[2] == pytest.approx(20.0)
