"""The real BlazeFace model on the demo, and the tracker's rate and easing on a fake detector."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
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
    """Finds the one white square drawn in the frame, as BlazeFace would find a face: in the
    128x128 input it is given, in that input's normalised coordinates."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, input_rgb: np.ndarray, timestamp_ms: int) -> list[Face]:
        assert input_rgb.shape == (128, 128, 3)
        self.calls += 1
        ys, xs = np.nonzero(input_rgb[..., 0] > 128)
        if xs.size == 0:
            return []
        box = (xs.min() / 128, ys.min() / 128, (xs.max() + 1) / 128, (ys.max() + 1) / 128)
        centre = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]
        return [Face(box, np.array([centre] * 6, np.float32), 0.9)]


def _frame_with_face(x0: int, y0: int, side: int = 60) -> np.ndarray:
    frame = np.zeros((360, 640, 3), np.uint8)
    frame[y0 : y0 + side, x0 : x0 + side] = 255
    return frame


def test_the_detector_runs_every_fourth_frame_and_the_box_eases_between() -> None:
    fake = _FakeDetector()
    tracker = FaceTracker(fake.detect, detect_every=4)
    frames = [_frame_with_face(100, 80)] * 4 + [_frame_with_face(160, 80)] * 8
    lefts = [tracker.update(frame, index).box[0]  # type: ignore[union-attr]
             for index, frame in enumerate(frames)]
    assert fake.calls == 3
    assert lefts[:4] == pytest.approx([100.0] * 4, abs=3.0)
    steps = np.diff(lefts[3:])
    assert (steps >= 0).all() and steps.max() < 0.4 * (160 - 100)
    assert lefts[-1] == pytest.approx(160.0, abs=4.0)


def test_a_face_that_jumps_out_of_its_square_is_found_at_the_next_detection() -> None:
    """The tracked square misses a face that moved far; the next look is the whole frame."""
    fake = _FakeDetector()
    tracker = FaceTracker(fake.detect, detect_every=1)
    tracker.update(_frame_with_face(60, 80), 0)
    jumped = _frame_with_face(500, 200)
    faces = [tracker.update(jumped, index) for index in range(1, 9)]
    assert all(face is not None for face in faces)  # one miss does not lose her
    face = faces[-1]
    assert face is not None and face.box[0] == pytest.approx(500.0, abs=30.0)


def test_a_tracked_face_is_looked_for_less_often_than_a_lost_one() -> None:
    fake = _FakeDetector()
    tracker = FaceTracker(fake.detect, detect_every=2, tracked_every=6)
    for index in range(12):  # found at once, then looked for on frames 6 only
        tracker.update(_frame_with_face(100, 80), index)
    assert fake.calls == 2
    empty = np.zeros((360, 640, 3), np.uint8)
    for index in range(12, 24):  # missed on frame 12; searched for every 2nd frame from then
        tracker.update(empty, index)
    assert fake.calls == 2 + 6


def test_a_face_keeps_its_shape_in_a_wide_frame() -> None:
    """A square face in a 16:9 frame comes back square: the detector's input is never
    squashed from the frame (squashed, it came back 1.8 times wider than tall)."""
    tracker = FaceTracker(_FakeDetector().detect, detect_every=1)
    for index in range(3):  # found in the whole frame, then in the square around it
        face = tracker.update(_frame_with_face(290, 100), index)
        assert face is not None
        x0, y0, x1, y1 = face.box
        assert (x1 - x0) / (y1 - y0) == pytest.approx(1.0, abs=0.1)
        assert (x0, y0) == pytest.approx((290, 100), abs=4.0)


def test_a_face_survives_one_missed_detection_and_is_gone_after_three() -> None:
    fake = _FakeDetector()
    tracker = FaceTracker(fake.detect, detect_every=1)
    frames = [_frame_with_face(100, 80)] + [np.zeros((360, 640, 3), np.uint8)] * 4
    seen = [tracker.update(frame, index) is not None for index, frame in enumerate(frames)]
    assert seen == [True, True, True, False, False]


def test_a_new_frame_size_forgets_the_old_box() -> None:
    fake = _FakeDetector()
    tracker = FaceTracker(fake.detect, detect_every=100)
    tracker.update(_frame_with_face(100, 80), 0)
    smaller = np.zeros((180, 320, 3), np.uint8)
    smaller[40:70, 200:230] = 255
    face = tracker.update(smaller, 1)
    assert fake.calls == 2 and face is not None
    assert face.box[0] == pytest.approx(200.0, abs=3.0)


def test_the_real_detector_finds_a_face_too_small_for_the_whole_frame(
    detector: BlazeFaceDetector,
) -> None:
    """Sitting back from the laptop: at 0.6 of the demo's size her face is about 100 px of a
    720p frame, too small for BlazeFace in the whole frame at 128x128; the upper-middle
    square finds it, and the tracked square keeps it."""
    frame = DemoRenderer(1280, 720).render(0.0)
    small = cv2.resize(frame, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    far = np.full_like(frame, 120)
    far[720 - small.shape[0] :, (1280 - small.shape[1]) // 2 :][:, : small.shape[1]] = small
    tracker = FaceTracker(detector.detect, detect_every=1)
    faces = [tracker.update(far, index) for index in range(4)]
    assert faces[0] is None  # the whole frame: too small to see
    assert all(face is not None for face in faces[1:])
    face = faces[-1]
    assert face is not None
    x0, y0, x1, y1 = face.box
    assert 60 < x1 - x0 < 160 and 0.8 < (x1 - x0) / (y1 - y0) < 1.25
    for eye_x, eye_y in face.eyes:
        assert x0 < eye_x < x1 and y0 < eye_y < (y0 + y1) / 2
