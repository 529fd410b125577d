"""Touch-up on the demo portrait: skin texture halves, the eyes and the hair edge keep theirs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.devices.demo import DemoRenderer
from compositing.touchup import TouchUp
from segmentation.faces import BlazeFaceDetector, Face, FaceTracker


def _high_frequency(frame_bgr: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return (gray - cv2.GaussianBlur(gray, (0, 0), 1.5)) ** 2


def _demo_face() -> tuple[np.ndarray, np.ndarray, Face]:
    renderer = DemoRenderer(1280, 720, static=True)
    frame, alpha = renderer.render(0.0), renderer.truth(0.0).alpha_u8
    detector = BlazeFaceDetector()
    try:
        tracker = FaceTracker(detector.detect)
        faces = [tracker.update(frame, index * 33) for index in range(8)]
    finally:
        detector.close()
    assert faces[-1] is not None
    return frame, alpha, faces[-1]


def _boxes_mask(shape: tuple[int, ...], centres: np.ndarray, half_px: int) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    for x, y in centres.astype(int):
        mask[y - half_px:y + half_px, x - half_px:x + half_px] = True
    return mask


def test_skin_loses_half_its_texture_while_eyes_and_hair_edge_keep_theirs() -> None:
    frame, alpha, face = _demo_face()
    out = TouchUp().apply(frame, alpha, face.box, face.eyes, face.keypoints[3])
    width_px = face.box[2] - face.box[0]
    eyes, mouth = face.eyes, face.keypoints[3]
    cheeks = np.array([(x, y + 0.6 * (mouth[1] - y)) for x, y in eyes])
    skin = _boxes_mask(frame.shape, cheeks, int(0.05 * width_px))
    eye = _boxes_mask(frame.shape, eyes, int(0.05 * width_px))
    kernel = np.ones((5, 5), np.uint8)
    outline = cv2.dilate(alpha, kernel) != cv2.erode(alpha, kernel)
    hair_edge = outline.copy()
    hair_edge[int(eyes[:, 1].min()):] = False
    assert hair_edge.sum() > 100
    before, after = _high_frequency(frame), _high_frequency(out)
    assert after[skin].mean() <= 0.5 * before[skin].mean()
    assert after[eye].mean() == pytest.approx(before[eye].mean(), rel=0.1)
    assert after[hair_edge].mean() == pytest.approx(before[hair_edge].mean(), rel=0.1)
    background = alpha == 0
    assert np.array_equal(out[background], frame[background])


def test_no_face_or_zero_strength_leaves_the_frame_alone() -> None:
    frame = np.full((60, 60, 3), 150, np.uint8)
    alpha = np.full((60, 60), 255, np.uint8)
    eyes = np.array([[25.0, 25.0], [35.0, 25.0]], np.float32)
    assert TouchUp().apply(frame, alpha, None, eyes) is frame
    assert TouchUp(0.0).apply(frame, alpha, (15.0, 15.0, 45.0, 45.0), eyes) is frame
    with pytest.raises(ValueError, match="0..1"):
        TouchUp(-0.1)
