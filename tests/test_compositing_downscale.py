"""The upscale every blur plate and light-wrap band goes through: cv2.resize's picture to one
level, and a region the same to the bit as that part of the whole (framing relies on it)."""

import cv2
import numpy as np
import pytest

from compositing.downscale import upscale


@pytest.mark.parametrize(("height", "width", "scale"), [(90, 160, 8), (180, 320, 4), (135, 240, 8)])
def test_upscale_is_resize_within_a_level_and_a_region_is_that_part_of_the_whole(
        height: int, width: int, scale: int) -> None:
    small = np.random.default_rng(height).integers(0, 256, (height, width, 3), np.uint8)
    whole = np.empty((height * scale, width * scale, 3), np.uint8)
    upscale(small, scale, whole)
    resized = cv2.resize(small, whole.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    assert np.abs(whole.astype(int) - resized).max() <= 1
    assert np.abs(whole.astype(int) - resized).mean() < 0.2
    for rows, cols in ((slice(16, 208), slice(48, 512)), (slice(0, 8), slice(0, 40)),
                       (slice(height * scale - 24, height * scale), slice(1, width * scale))):
        part = np.zeros_like(whole)
        upscale(small, scale, part, (rows, cols))
        assert np.array_equal(part[rows, cols], whole[rows, cols])
        part[rows, cols] = 0
        assert not part.any()  # nothing written outside the region


def test_upscale_takes_only_powers_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        upscale(np.zeros((4, 4), np.uint8), 3, np.zeros((12, 12), np.uint8))
