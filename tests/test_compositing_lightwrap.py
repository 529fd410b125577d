"""Light wrap tints only a thin band just inside the person's edge."""

import cv2
import numpy as np
import pytest

from compositing import lightwrap
from compositing.blend import composite
from compositing.lightwrap import LightWrap, light_wrap
from tests.scenes import soft_person_scene


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grey person rectangle in front of a bright orange background."""
    frame_bgr = np.full((360, 640, 3), 90, np.uint8)
    background_bgr = np.zeros((360, 640, 3), np.uint8)
    background_bgr[:] = (0, 160, 255)
    alpha = np.zeros((360, 640), np.float32)
    alpha[60:300, 200:440] = 1.0
    return composite(frame_bgr, alpha, background_bgr), alpha, background_bgr


def test_light_wrap_changes_only_a_thin_band_inside_the_edge() -> None:
    composited_bgr, alpha, background_bgr = _scene()
    wrapped = light_wrap(composited_bgr, alpha, background_bgr, 0.8)
    changed = np.any(wrapped != composited_bgr, axis=2)
    assert changed[180, 200:204].all(), "the person's edge picks up background light"
    assert wrapped[180, 201, 2] > composited_bgr[180, 201, 2], "tinted towards the orange"
    assert not changed[alpha == 0.0].any(), "background pixels are untouched"
    distance_to_background = cv2.distanceTransform((alpha > 0).astype(np.uint8), cv2.DIST_L2, 5)
    assert not changed[distance_to_background > 0.05 * 360].any(), "the inside is untouched"


def test_light_wrap_strength_zero_changes_nothing() -> None:
    composited_bgr, alpha, background_bgr = _scene()
    wrapped = light_wrap(composited_bgr, alpha, background_bgr, 0.0)
    np.testing.assert_array_equal(wrapped, composited_bgr)


def test_light_wrap_grows_with_strength() -> None:
    composited_bgr, alpha, background_bgr = _scene()
    wrap = LightWrap()
    weak = wrap.apply(composited_bgr, alpha, background_bgr, 0.2)[180, 201, 2]
    strong = wrap.apply(composited_bgr, alpha, background_bgr, 1.0)[180, 201, 2]
    assert composited_bgr[180, 201, 2] < weak < strong


def test_light_wrap_can_work_in_place() -> None:
    composited_bgr, alpha, background_bgr = _scene()
    expected = light_wrap(composited_bgr, alpha, background_bgr, 0.5)
    result = LightWrap().apply(composited_bgr, alpha, background_bgr, 0.5, out=composited_bgr)
    assert result is composited_bgr
    np.testing.assert_array_equal(result, expected)


def test_light_wrap_rejects_bad_strength() -> None:
    composited_bgr, alpha, background_bgr = _scene()
    with pytest.raises(ValueError, match="between 0 and 1"):
        light_wrap(composited_bgr, alpha, background_bgr, 2.0)


@pytest.mark.parametrize(("height", "width"), [(720, 1280), (1080, 1920)])
def test_light_wrap_on_the_bands_tiles_is_the_wrap_over_the_whole_box(
    height: int, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the tiles the band reaches are blended; the picture is the same as blending the
    person's whole box, for a soft-edged person in camera sizes."""
    frame_bgr, background_bgr, alpha = soft_person_scene(height, width, seed=height)
    composited_bgr = composite(frame_bgr, alpha, background_bgr)
    on_tiles = LightWrap().apply(composited_bgr, alpha, background_bgr, 0.15)
    monkeypatch.setattr(lightwrap, "tile_side_px", lambda height_px, width_px: None)
    whole_box = LightWrap().apply(composited_bgr, alpha, background_bgr, 0.15)
    np.testing.assert_array_equal(on_tiles, whole_box)
    assert np.any(on_tiles != composited_bgr), "the band is wrapped"
