"""soft_alpha turns a model mask into a frame-size matte; composite puts the person on top."""

import numpy as np
import pytest

from compositing.alpha import alpha_from_u8, alpha_to_u8, soft_alpha
from compositing.blend import Blender, composite
from tests.scenes import soft_person_scene


def _ramp_mask(width: int = 32, height: int = 8) -> np.ndarray:
    """Confidence rising linearly from 0 on the left to 1 on the right."""
    return np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))


def test_soft_alpha_has_frame_size_and_range() -> None:
    alpha = soft_alpha(_ramp_mask(), 320, 80, edge_softness=0.5)
    assert alpha.shape == (80, 320)
    assert alpha.dtype == np.float32
    assert alpha.min() == 0.0 and alpha.max() == 1.0
    assert np.all(np.diff(alpha[40]) >= 0), "a rising confidence gives a rising alpha"


def test_soft_alpha_edge_softness_widens_the_transition() -> None:
    hard = soft_alpha(_ramp_mask(), 320, 80, edge_softness=0.0)
    soft = soft_alpha(_ramp_mask(), 320, 80, edge_softness=1.0)
    hard_partial = np.count_nonzero((hard[40] > 0.01) & (hard[40] < 0.99))
    soft_partial = np.count_nonzero((soft[40] > 0.01) & (soft[40] < 0.99))
    assert hard_partial < 40 < 200 < soft_partial


def test_soft_alpha_keeps_sure_pixels_sure() -> None:
    mask = np.zeros((36, 64), np.float32)
    mask[10:30, 20:40] = 0.97  # a confident person block
    alpha = soft_alpha(mask, 640, 360, edge_softness=1.0)
    assert alpha[200, 300] == 1.0, "confidence 0.97 is above the softest upper threshold"
    assert alpha[20, 20] == 0.0


def test_soft_alpha_edge_sits_where_confidence_crosses_one_half() -> None:
    """Thresholding after upsampling places a hard edge with sub-pixel accuracy."""
    mask = np.array([[0.0, 0.2, 0.8, 1.0]] * 4, np.float32)
    alpha = soft_alpha(mask, 400, 40, edge_softness=0.0)
    crossing_px = int(np.argmax(alpha[20] >= 0.5))
    assert 195 <= crossing_px <= 205  # 0.5 lies midway between the middle samples


def test_alpha_u8_round_trip() -> None:
    alpha = np.linspace(0.0, 1.0, 256, dtype=np.float32).reshape(16, 16)
    alpha_u8 = alpha_to_u8(alpha)
    assert alpha_u8.dtype == np.uint8 and alpha_u8[0, 0] == 0 and alpha_u8[-1, -1] == 255
    np.testing.assert_allclose(alpha_from_u8(alpha_u8), alpha, atol=1 / 255)


def test_alpha_u8_saturates_values_outside_zero_to_one() -> None:
    # A slightly negative alpha must not turn into a visible one (no absolute value).
    alpha = np.array([[-0.3, -0.001, 0.5, 1.2]], np.float32)
    assert alpha_to_u8(alpha).tolist() == [[0, 0, 128, 255]]


def test_soft_alpha_rejects_bad_softness() -> None:
    with pytest.raises(ValueError, match="edge_softness"):
        soft_alpha(_ramp_mask(), 32, 8, edge_softness=1.5)


def _person_scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    frame_bgr = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    background_bgr = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    alpha = np.zeros((60, 80), np.float32)
    alpha[10:50, 20:60] = 1.0
    alpha[10:50, 19] = 0.5
    return frame_bgr, alpha, background_bgr


def test_composite_keeps_person_and_replaces_background() -> None:
    frame_bgr, alpha, background_bgr = _person_scene()
    output = composite(frame_bgr, alpha, background_bgr)
    np.testing.assert_array_equal(output[alpha == 1.0], frame_bgr[alpha == 1.0])
    np.testing.assert_array_equal(output[alpha == 0.0], background_bgr[alpha == 0.0])
    half_mix = (frame_bgr[10:50, 19].astype(int) + background_bgr[10:50, 19]) / 2
    np.testing.assert_allclose(output[10:50, 19], half_mix, atol=1)


def test_composite_writes_into_out_buffer() -> None:
    frame_bgr, alpha, background_bgr = _person_scene()
    blender = Blender()
    out = np.zeros_like(frame_bgr)
    first = blender.composite(frame_bgr, alpha, background_bgr, out=out)
    second = blender.composite(background_bgr, alpha, frame_bgr, out=out)
    assert first is out and second is out
    np.testing.assert_array_equal(out[alpha == 1.0], background_bgr[alpha == 1.0])


def test_composite_rejects_mismatched_alpha() -> None:
    frame_bgr, alpha, background_bgr = _person_scene()
    with pytest.raises(ValueError, match="alpha must be uint8 or float32"):
        composite(frame_bgr, alpha[:, :40], background_bgr)
    with pytest.raises(ValueError, match="alpha must be uint8 or float32"):
        composite(frame_bgr, alpha.astype(np.float64), background_bgr)


@pytest.mark.parametrize(("height", "width"), [(53, 37), (64, 96), (5, 7), (90, 160)])
def test_composite_matches_the_formula_for_scattered_alpha(height: int, width: int) -> None:
    """Isolated soft pixels anywhere (even far from the person) are blended, not dropped."""
    rng = np.random.default_rng(height * width)
    frame_bgr = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    background_bgr = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    alpha = np.zeros((height, width), np.float32)
    alpha[height // 3 : height // 2, width // 3 : width // 2] = 1.0
    alpha[height - 1, width - 1] = 0.5
    alpha[0, 0] = 0.25
    expected = frame_bgr * alpha[:, :, None] + background_bgr * (1.0 - alpha[:, :, None])
    output = composite(frame_bgr, alpha, background_bgr)
    np.testing.assert_allclose(output, expected, atol=1.0)


def test_composite_without_a_person_is_the_background() -> None:
    frame_bgr, alpha, background_bgr = _person_scene()
    output = composite(frame_bgr, np.zeros_like(alpha), background_bgr)
    np.testing.assert_array_equal(output, background_bgr)


@pytest.mark.parametrize("target", ["frame", "background"])
def test_composite_may_write_over_an_input(target: str) -> None:
    frame_bgr, alpha, background_bgr = _person_scene()
    expected = composite(frame_bgr, alpha, background_bgr)
    out = frame_bgr if target == "frame" else background_bgr
    result = composite(frame_bgr, alpha, background_bgr, out=out)
    assert result is out
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize(("height", "width"), [(720, 1280), (1080, 1920), (540, 960), (723, 1281)])
def test_composite_blends_every_edge_pixel_at_camera_sizes(height: int, width: int) -> None:
    """Only the edge's tiles are blended: the result is still the formula everywhere, for a
    soft-edged person, a stray soft speck far from her and an exact hard edge."""
    frame_bgr, background_bgr, alpha = soft_person_scene(height, width, seed=width)
    alpha[height // 3, width // 3] = 0.5  # a speck far from her
    alpha[10:40, width - 40:width - 10] = 1.0  # a hard-edged block: no mixed value in it
    weight = (alpha_to_u8(alpha) / 255.0)[:, :, None]  # the 8-bit alpha the blend works with
    expected = frame_bgr * weight + background_bgr * (1.0 - weight)
    output = composite(frame_bgr, alpha, background_bgr)
    np.testing.assert_allclose(output, expected, atol=1.0)
    into_background = background_bgr.copy()
    composite(frame_bgr, alpha, into_background, out=into_background)
    np.testing.assert_array_equal(into_background, output)
