"""Background blur: strong, halo-free, and leaves the person's own pixels to the blend."""

import cv2
import numpy as np
import pytest

from app.devices.demo import DemoRenderer
from compositing.blur import BackgroundBlur, blur_background, blur_sigma_px
from compositing.downscale import halvings, shrink_to


def _bright_square_scene(top: int, left: int) -> tuple[np.ndarray, np.ndarray]:
    """A bright (255) 'person' square on a dark (20) wall, alpha 1 on the square."""
    frame_bgr = np.full((360, 640, 3), 20, np.uint8)
    alpha = np.zeros((360, 640), np.float32)
    frame_bgr[top : top + 160, left : left + 160] = 255
    alpha[top : top + 160, left : left + 160] = 1.0
    return frame_bgr, alpha


@pytest.mark.parametrize("strength", [20, 60, 100])
@pytest.mark.parametrize(("top", "left"), [(100, 240), (101, 243)])
def test_blur_leaves_no_glow_around_a_bright_person(strength: int, top: int, left: int) -> None:
    frame_bgr, alpha = _bright_square_scene(top, left)
    plate = blur_background(frame_bgr, alpha, strength)
    just_outside = np.concatenate(
        [
            plate[top + 20 : top + 140, left - 3, 0],  # left of the square
            plate[top + 20 : top + 140, left + 162, 0],  # right of the square
            plate[top - 3, left + 20 : left + 140, 0],  # above the square
        ]
    )
    assert just_outside.max() < 40, "blurred background must stay dark next to a bright person"
    naive = cv2.GaussianBlur(frame_bgr, (0, 0), blur_sigma_px(strength, 360))
    assert naive[top + 80, left - 3, 0] > 40, "a naive blur glows there (the test's premise)"


def test_blur_smooths_a_textured_background() -> None:
    rng = np.random.default_rng(7)
    frame_bgr = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    alpha = np.zeros((180, 320), np.float32)
    plate = blur_background(frame_bgr, alpha, 50)
    assert plate.shape == frame_bgr.shape and plate.dtype == np.uint8
    assert plate.std() < frame_bgr.std() / 4, "noise is blurred away"
    assert abs(float(plate.mean()) - float(frame_bgr.mean())) < 3, "brightness is kept"


def test_blur_strength_zero_returns_the_frame() -> None:
    frame_bgr, alpha = _bright_square_scene(100, 240)
    assert blur_background(frame_bgr, alpha, 0) is frame_bgr


def test_blur_covered_by_the_person_everywhere_stays_finite() -> None:
    """With no background pixel at all the plate falls back to a plain blur, not NaN garbage."""
    frame_bgr = np.full((90, 160, 3), 77, np.uint8)
    alpha = np.ones((90, 160), np.float32)
    plate = BackgroundBlur().apply(frame_bgr, alpha, 80)
    np.testing.assert_allclose(plate, 77, atol=1)


def test_blur_rejects_out_of_range_strength() -> None:
    frame_bgr, alpha = _bright_square_scene(100, 240)
    with pytest.raises(ValueError, match="between 0 and 100"):
        blur_background(frame_bgr, alpha, 101)


def test_stronger_blur_is_smoother() -> None:
    rng = np.random.default_rng(3)
    blocks_bgr = rng.integers(0, 256, (23, 40, 3), dtype=np.uint8)
    frame_bgr = np.asarray(cv2.resize(blocks_bgr, (320, 180), interpolation=cv2.INTER_NEAREST))
    alpha = np.zeros((180, 320), np.float32)
    blur = BackgroundBlur()
    deviations = [float(blur.apply(frame_bgr, alpha, s).std()) for s in (10, 40, 100)]
    assert deviations[0] > deviations[1] > deviations[2]


def test_blur_is_halo_free_at_odd_frame_sizes() -> None:
    frame_bgr = np.full((363, 641, 3), 20, np.uint8)
    alpha = np.zeros((363, 641), np.float32)
    frame_bgr[101:263, 243:405] = 255
    alpha[101:263, 243:405] = 1.0
    plate = BackgroundBlur().apply(frame_bgr, alpha, 100)
    assert plate.shape == frame_bgr.shape
    assert plate[180, 240, 0] < 40 and plate[180, 408, 0] < 40 and plate[98, 300, 0] < 40


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_a_plate_from_the_engines_halved_frames_is_the_plate_from_the_frame(
        size: tuple[int, int]) -> None:
    """The engine halves each frame on its way to the model's input and hands the blur those
    levels, so the frame is not halved twice; the plate is the same to the bit, flat and
    portrait, from all the levels or the first, and levels of the wrong size are not used."""
    width_px, height_px = size
    frame = DemoRenderer(width_px, height_px, static=True).render(0.0)
    alpha = DemoRenderer(width_px, height_px, static=True).person_alpha(0.0)
    levels = halvings(frame, (256, 144))
    assert len(levels) == 2
    for style in ("flat", "portrait"):
        plate = BackgroundBlur().apply(frame, alpha, 60, style=style)
        for given in (levels, levels[:1]):
            from_levels = BackgroundBlur().apply(frame, alpha, 60, style=style,
                                                 frame_halves=given)
            assert np.array_equal(plate, from_levels)
    black = np.zeros_like(levels[0])  # the right size: used, as the plate shows
    assert BackgroundBlur().apply(frame, alpha, 60, frame_halves=[black]).max() == 0
    wrong = shrink_to(frame, (width_px // 2 - 2, height_px // 2))
    assert np.array_equal(BackgroundBlur().apply(frame, alpha, 60, frame_halves=[wrong]),
                          BackgroundBlur().apply(frame, alpha, 60))
