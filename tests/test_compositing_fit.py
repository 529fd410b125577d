"""Frames of any size fitted into the virtual camera's one format."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.devices.demo import DemoRenderer
from compositing.fit import fit_frame


def _two_halves(width_px: int, height_px: int) -> np.ndarray:
    image = np.zeros((height_px, width_px, 3), np.uint8)
    image[:, : width_px // 2] = (0, 0, 255)
    image[:, width_px // 2 :] = (255, 0, 0)
    return image


def test_a_frame_of_the_output_size_is_passed_through_untouched() -> None:
    image = _two_halves(1280, 720)
    assert fit_frame(image, 1280, 720, "letterbox") is image


def test_letterbox_keeps_the_whole_picture_between_bars() -> None:
    fitted = fit_frame(_two_halves(640, 480), 1280, 720, "letterbox")  # 4:3 into 16:9
    assert fitted.shape == (720, 1280, 3)
    assert fitted[:, :150].max() == 0 and fitted[:, -150:].max() == 0  # the side bars
    assert tuple(fitted[360, 200]) == (0, 0, 255) and tuple(fitted[360, 1080]) == (255, 0, 0)


@pytest.mark.parametrize("how", ["letterbox", "cover"])
def test_a_1080p_camera_fills_the_720p_output_with_the_picture_area_averaged(how: str) -> None:
    camera_bgr = DemoRenderer(1920, 1080).render(0.5)  # a camera of the same aspect: no bars
    fitted = fit_frame(camera_bgr, 1280, 720, how)
    assert fitted.shape == (720, 1280, 3) and fitted.flags.c_contiguous
    averaged = cv2.resize(camera_bgr, (1280, 720), interpolation=cv2.INTER_AREA)
    difference = np.abs(fitted.astype(np.int16) - averaged)
    assert difference.mean() < 0.5 and difference.max() <= 12


def test_cover_fills_the_output_and_crops_what_overhangs() -> None:
    fitted = fit_frame(_two_halves(640, 480), 1280, 720, "cover")
    assert fitted.shape == (720, 1280, 3)
    assert fitted.reshape(-1, 3).max(axis=1).min() > 100  # no black bars anywhere
    assert tuple(fitted[360, 10]) == (0, 0, 255) and tuple(fitted[360, 1270]) == (255, 0, 0)


def test_an_unknown_fit_is_refused() -> None:
    with pytest.raises(ValueError, match="letterbox"):
        fit_frame(_two_halves(64, 48), 128, 72, "stretch")
