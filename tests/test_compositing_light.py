"""Light on the demo darkened to a third: the face brightens and keeps its colour, the background
and whites do not change."""

from __future__ import annotations

import numpy as np
import pytest

from app.devices.demo import DemoRenderer, demo_person_regions
from compositing.light import Light, gain_for, lift_lut
from segmentation.faces import BlazeFaceDetector, FaceTracker


def _luma(frame_bgr: np.ndarray) -> np.ndarray:
    return frame_bgr.astype(np.float32) @ np.array([0.114, 0.587, 0.299], np.float32)


def _colourfulness(face_bgr: np.ndarray) -> float:
    """Mean chroma (brightest minus darkest channel) over mean luma: 0 for grey."""
    face = face_bgr.astype(np.float32)
    return float((face.max(axis=2) - face.min(axis=2)).mean() / _luma(face_bgr).mean())


def test_a_dim_demo_face_rises_at_least_half_way_back_and_nothing_else_changes() -> None:
    renderer = DemoRenderer(1280, 720, static=True)
    face_box = demo_person_regions(1280, 720).face
    face = (slice(face_box.y0, face_box.y1), slice(face_box.x0, face_box.x1))
    bright = renderer.render(0.0)
    dim = (bright // 3).astype(np.uint8)
    alpha = renderer.truth(0.0).alpha_u8
    detector = BlazeFaceDetector()
    try:
        tracker, light = FaceTracker(detector.detect), Light()
        for index in range(60):
            found = tracker.update(dim, index * 33)
            assert found is not None
            out = light.apply(dim, alpha, found.box)
    finally:
        detector.close()
    bright_face, dim_face = _luma(bright)[face].mean(), _luma(dim)[face].mean()
    assert _luma(out)[face].mean() - dim_face >= 0.5 * (bright_face - dim_face)
    # Her colour is the well-lit face's, not washed towards grey (a curve on each channel
    # left it 17% less colourful).
    assert _colourfulness(out[face]) == pytest.approx(_colourfulness(bright[face]), rel=0.05)
    background = alpha == 0
    assert np.array_equal(out[background], dim[background])
    assert ((out == 255) & (dim < 255)).sum() == 0


def test_the_gain_follows_slowly_so_a_flicker_does_not_pump() -> None:
    frame = np.full((200, 200, 3), 40, np.uint8)
    alpha = np.full((200, 200), 255, np.uint8)
    light = Light(strength=1.0)
    gains = []
    for _ in range(30):
        light.apply(frame, alpha, (80.0, 80.0, 120.0, 120.0))
        gains.append(light.gain)
    steps = np.diff([1.0, *gains])
    assert (steps > 0).all() and steps.max() < 0.1 * (gain_for(40 / 255) - 1.0) + 1e-6
    light.apply(np.full((200, 200, 3), 200, np.uint8), alpha, (80.0, 80.0, 120.0, 120.0))
    assert light.gain > gains[-1] * 0.85


def test_the_curve_lifts_darks_most_keeps_order_and_only_white_is_white() -> None:
    lut = lift_lut(3.0).astype(int)
    assert (np.diff(lut) >= 0).all() and (lut >= np.arange(256)).all()
    assert lut[255] == 255 and lut[:255].max() == 254
    assert lut[40] - 40 > lut[200] - 200


def test_no_face_or_zero_strength_leaves_the_frame_alone() -> None:
    frame = np.full((50, 50, 3), 30, np.uint8)
    alpha = np.full((50, 50), 255, np.uint8)
    assert Light(0.5).apply(frame, alpha, None) is frame
    assert Light(0.0).apply(frame, alpha, (10.0, 10.0, 30.0, 30.0)) is frame
    with pytest.raises(ValueError, match="0..1"):
        Light(1.5)


def test_a_face_lost_for_a_moment_fades_out_instead_of_snapping_dark() -> None:
    frame = np.full((200, 200, 3), 40, np.uint8)
    alpha = np.full((200, 200), 255, np.uint8)
    light, box = Light(strength=1.0), (80.0, 80.0, 120.0, 120.0)
    for _ in range(60):
        lit = light.apply(frame, alpha, box)
    lifts = [int(lit[100, 100, 0]) - 40]
    for _ in range(90):  # the detector finds nothing any more
        lifts.append(int(light.apply(frame, alpha, None)[100, 100, 0]) - 40)
    assert lifts[0] > 20
    assert lifts[1] >= 0.8 * lifts[0]  # no snap back to dim
    assert all(later <= earlier for earlier, later in zip(lifts, lifts[1:], strict=False))
    assert lifts[-1] == 0


def test_a_composite_brighter_than_the_camera_is_not_lifted_into_clipping() -> None:
    camera = np.full((200, 200, 3), 40, np.uint8)
    composite = np.full((200, 200, 3), 250, np.uint8)  # e.g. a light wrap near white
    composite[0, 0] = 255
    alpha = np.full((200, 200), 255, np.uint8)
    light = Light(strength=1.0)
    for _ in range(60):
        out = light.apply(composite, alpha, (80.0, 80.0, 120.0, 120.0), camera)
    assert out[100, 100, 0] == 254 and out[0, 0, 0] == 255
