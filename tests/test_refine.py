"""Edge-aware refinement: the alpha edge moves onto the picture's edge."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from compositing.alpha import soft_alpha
from segmentation.refine import AlphaRefiner, refine_alpha

WIDTH, HEIGHT = 1280, 720
IMAGE_EDGE_X = 400
# A coarse 64x36 mask (20 frame pixels per mask pixel) whose edge sits one mask pixel left of
# the picture's edge: the guided window (3 mask pixels) has to reach across that offset.
MASK_WIDTH, MASK_HEIGHT = 64, 36
MASK_EDGE_X = 380


def step_frame(left_bgr: tuple[int, int, int], right_bgr: tuple[int, int, int]) -> np.ndarray:
    """A frame split at IMAGE_EDGE_X (person on the right), with mild sensor noise."""
    frame = np.empty((HEIGHT, WIDTH, 3), np.float32)
    frame[:, :IMAGE_EDGE_X] = left_bgr
    frame[:, IMAGE_EDGE_X:] = right_bgr
    frame += np.random.default_rng(0).normal(0.0, 2.0, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def offset_mask() -> np.ndarray:
    mask = np.zeros((MASK_HEIGHT, MASK_WIDTH), np.float32)
    mask[:, MASK_EDGE_X * MASK_WIDTH // WIDTH :] = 1.0
    return mask


def crossing_x(alpha: np.ndarray) -> float:
    """Where the middle row's alpha first crosses 0.5, with sub-pixel interpolation."""
    row = alpha[HEIGHT // 2]
    after = int(np.argmax(row >= 0.5))
    return after - 1 + (0.5 - row[after - 1]) / (row[after] - row[after - 1])


@pytest.mark.parametrize("edge_softness", [None, 0.4])
def test_bilinear_leaves_the_edge_where_the_mask_put_it(edge_softness: float | None) -> None:
    alpha = AlphaRefiner("off").refine(
        offset_mask(), step_frame((40,) * 3, (200,) * 3), edge_softness
    )
    assert crossing_x(alpha) == pytest.approx(MASK_EDGE_X, abs=3)


@pytest.mark.parametrize("quality", ["fast", "best"])
@pytest.mark.parametrize("edge_softness", [None, 0.4])
def test_refinement_moves_the_edge_onto_the_picture_edge(
    quality: str, edge_softness: float | None
) -> None:
    frame = step_frame((40, 40, 40), (200, 200, 200))
    alpha = AlphaRefiner(quality).refine(offset_mask(), frame, edge_softness)
    assert crossing_x(alpha) == pytest.approx(IMAGE_EDGE_X, abs=3)


def test_best_sees_a_colour_edge_that_gray_cannot() -> None:
    # Red against green of the same brightness: one gray level apart, far apart in colour.
    frame = step_frame((0, 0, 200), (0, 102, 0))
    assert crossing_x(refine_alpha(offset_mask(), frame, "fast")) == pytest.approx(
        MASK_EDGE_X, abs=5
    )
    assert crossing_x(refine_alpha(offset_mask(), frame, "best")) == pytest.approx(
        IMAGE_EDGE_X, abs=3
    )


def test_off_matches_the_compositors_soft_alpha() -> None:
    mask = np.random.default_rng(1).random((MASK_HEIGHT, MASK_WIDTH), dtype=np.float32)
    frame = np.zeros((HEIGHT // 4, WIDTH // 4, 3), np.uint8)
    refined = AlphaRefiner("off").refine(mask, frame, 0.4)
    expected = soft_alpha(mask, WIDTH // 4, HEIGHT // 4, 0.4)
    np.testing.assert_allclose(refined, expected, atol=1e-5)


@pytest.mark.parametrize("quality", ["off", "fast", "best"])
def test_alpha_is_frame_sized_float_in_unit_range(quality: str) -> None:
    rng = np.random.default_rng(2)
    frame = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    mask = rng.random((36, 64), dtype=np.float32) * 1.4 - 0.2  # overshoots on both sides
    refiner = AlphaRefiner(quality)
    alpha = refiner.refine(mask, frame)
    assert alpha.shape == (180, 320) and alpha.dtype == np.float32
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert refiner.refine(mask, frame, 0.5, out=alpha) is alpha


@pytest.mark.parametrize("quality", ["off", "fast", "best"])
@pytest.mark.parametrize("edge_softness", [None, 0.4])
def test_a_uint8_alpha_is_the_float_alpha_in_levels(
    quality: str, edge_softness: float | None
) -> None:
    # The engine refines straight into bytes; it must be the same edge, rounded once.
    rng = np.random.default_rng(4)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (180, 320, 3), dtype=np.uint8), (0, 0), 2.0)
    mask = cv2.resize(offset_mask(), (64, 36)) + rng.normal(0, 0.05, (36, 64)).astype(np.float32)
    as_float = AlphaRefiner(quality).refine(mask, frame, edge_softness)
    as_bytes = np.empty((180, 320), np.uint8)
    assert AlphaRefiner(quality).refine(mask, frame, edge_softness, out=as_bytes) is as_bytes
    difference = np.abs(as_bytes.astype(np.float32) - as_float * 255.0)
    assert difference.max() <= 1.5
    assert difference.mean() < 0.5


def test_quality_is_settable_live_and_checked() -> None:
    refiner = AlphaRefiner("off")
    refiner.quality = "best"
    assert refiner.quality == "best"
    with pytest.raises(ValueError, match="off, fast, best.*'ultra'"):
        refiner.quality = "ultra"


def test_bad_inputs_are_named() -> None:
    refiner = AlphaRefiner()
    frame = np.zeros((36, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="mask_lowres must be a 2-D"):
        refiner.refine(np.zeros((36, 64, 1), np.float32), frame)
    with pytest.raises(ValueError, match="frame_bgr must be a uint8"):
        refiner.refine(np.zeros((36, 64), np.float32), frame.astype(np.float32))
