"""Temporal smoothing of confidence masks: what holds, what follows, and whose buffer it is."""

from __future__ import annotations

import numpy as np
import pytest

from compositing.blend import strips_around
from segmentation import smoothing
from segmentation.quality import edge_band, flicker
from segmentation.smoothing import (
    AlphaStabilizer,
    MotionAwareSmoother,
    UncertaintySmoother,
    uncertainty,
)

HEIGHT, WIDTH = 144, 256


def disc_confidence(center_x: float, radius_px: float = 40.0, edge_px: float = 2.0) -> np.ndarray:
    """A person-like blob: confidence 1 inside a disc, 0 outside, with a soft model-like edge."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    distance = np.hypot(xx - center_x, yy - HEIGHT / 2)
    steepness = np.clip((distance - radius_px) / edge_px, -30.0, 30.0)
    return (1.0 / (1.0 + np.exp(steepness))).astype(np.float32)


def disc_gray(center_x: float, rng: np.random.Generator, noise_sigma: float = 2.0) -> np.ndarray:
    """The picture behind `disc_confidence`: a bright person on a dark wall, plus sensor noise."""
    picture = 60.0 + 120.0 * (disc_confidence(center_x, edge_px=1.0) > 0.5)
    noisy = picture + rng.normal(0.0, noise_sigma, picture.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def noisy_confidence(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Frame-to-frame model noise, strongest where the model is unsure (around the edge)."""
    edge_weight = 4.0 * clean * (1.0 - clean)
    noisy = clean + rng.normal(0.0, 0.15, clean.shape).astype(np.float32) * edge_weight
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    fa, fb = a >= 0.5, b >= 0.5
    return np.count_nonzero(fa & fb) / np.count_nonzero(fa | fb)


def test_uncertainty_is_mediapipes_squared_binary_entropy() -> None:
    confidence = np.linspace(0.001, 0.999, 999, dtype=np.float32)
    entropy = -(confidence * np.log2(confidence) + (1 - confidence) * np.log2(1 - confidence))
    assert np.abs(uncertainty(confidence) - entropy**2).max() < 0.005
    assert uncertainty(np.array([0.0, 0.5, 1.0], np.float32)) == pytest.approx(
        [0.0, 1.0, 0.0], abs=1e-3
    )


def test_uncertainty_smoother_confident_pixels_follow_at_once() -> None:
    smoother = UncertaintySmoother(0.7)
    smoother.update(np.zeros((4, 4), np.float32))
    new = np.zeros((4, 4), np.float32)
    new[:, 2:] = 1.0  # the person appears, confidently
    assert smoother.update(new) == pytest.approx(new, abs=1e-3)


def test_uncertainty_smoother_holds_uncertain_pixels() -> None:
    smoother = UncertaintySmoother(0.7)
    smoother.update(np.full((4, 4), 0.9, np.float32))
    held = smoother.update(np.full((4, 4), 0.5, np.float32))
    # u(0.5) = 1: out = 0.5 + (0.9 - 0.5) * 0.7
    assert held == pytest.approx(np.full((4, 4), 0.78), abs=1e-4)


@pytest.mark.parametrize("make", [UncertaintySmoother, MotionAwareSmoother])
def test_ratio_zero_is_identity(make: type) -> None:
    rng = np.random.default_rng(3)
    smoother = make(0.0)
    for _ in range(4):
        confidence = rng.random((HEIGHT, WIDTH), dtype=np.float32)
        args = (confidence,) if make is UncertaintySmoother else (confidence, disc_gray(128, rng))
        np.testing.assert_array_equal(smoother.update(*args), confidence)


def _feed(
    smoother: UncertaintySmoother | MotionAwareSmoother, confidence: np.ndarray
) -> np.ndarray:
    if isinstance(smoother, UncertaintySmoother):
        return smoother.update(confidence)
    return smoother.update(confidence, np.full(confidence.shape, 100, np.uint8))


@pytest.mark.parametrize("make", [UncertaintySmoother, MotionAwareSmoother])
def test_state_is_not_a_view_of_the_callers_buffer(make: type) -> None:
    first, second = np.full((8, 8), 0.45, np.float32), np.full((8, 8), 0.55, np.float32)
    reference = make(0.7)
    _feed(reference, first)
    expected = _feed(reference, second)

    smoother = make(0.7)
    reused = first.copy()
    returned = _feed(smoother, reused)
    reused[:] = 0.0  # the caller reuses its buffer for the next frame...
    returned[:] = 1.0  # ...and scribbles on what it got back
    reused[:] = second
    np.testing.assert_array_equal(_feed(smoother, reused), expected)


@pytest.mark.parametrize("make", [UncertaintySmoother, MotionAwareSmoother])
def test_new_mask_size_starts_afresh(make: type) -> None:
    smoother = make(0.9)
    _feed(smoother, np.full((8, 8), 0.5, np.float32))
    resized = np.full((6, 10), 0.2, np.float32)
    np.testing.assert_array_equal(_feed(smoother, resized), resized)


@pytest.mark.parametrize("make", [UncertaintySmoother, MotionAwareSmoother])
def test_reset_forgets_the_previous_frame(make: type) -> None:
    smoother = make(0.9)
    _feed(smoother, np.full((8, 8), 0.5, np.float32))
    smoother.reset()
    fresh = np.full((8, 8), 0.6, np.float32)
    np.testing.assert_array_equal(_feed(smoother, fresh), fresh)


@pytest.mark.parametrize("make", [UncertaintySmoother, MotionAwareSmoother])
def test_bad_ratio_and_bad_mask_are_named(make: type) -> None:
    with pytest.raises(ValueError, match="between 0 .* and 1, got 1.5"):
        make(1.5)
    smoother = make(0.5)
    with pytest.raises(ValueError, match="ratio"):
        smoother.ratio = -0.1
    with pytest.raises(ValueError, match="2-D"):
        _feed(smoother, np.zeros((8, 8, 3), np.float32))


def test_motion_aware_rejects_a_gray_frame_of_another_size() -> None:
    smoother = MotionAwareSmoother(0.7)
    with pytest.raises(ValueError, match=r"frame_small_gray .* \(8, 8\)"):
        smoother.update(np.zeros((8, 8), np.float32), np.zeros((16, 16), np.uint8))


def _static_clip(rng: np.random.Generator, frames: int = 30) -> tuple[list, list]:
    clean = disc_confidence(128)
    return (
        [noisy_confidence(clean, rng) for _ in range(frames)],
        [disc_gray(128, rng) for _ in range(frames)],
    )


def test_motion_aware_cuts_static_flicker_by_more_than_60_percent() -> None:
    confidences, grays = _static_clip(np.random.default_rng(7))
    smoother = MotionAwareSmoother(0.7)
    smoothed = [smoother.update(c, g) for c, g in zip(confidences, grays, strict=True)]
    band = edge_band(confidences)
    assert flicker(smoothed, band) <= 0.4 * flicker(confidences, band)


def test_motion_aware_beats_mediapipes_rule_on_a_still_picture() -> None:
    confidences, grays = _static_clip(np.random.default_rng(8))
    motion_aware, mediapipe_rule = MotionAwareSmoother(0.7), UncertaintySmoother(0.7)
    band = edge_band(confidences)
    held = [motion_aware.update(c, g) for c, g in zip(confidences, grays, strict=True)]
    mediapipe = [mediapipe_rule.update(c) for c in confidences]
    assert flicker(held, band) < flicker(mediapipe, band)


@pytest.mark.parametrize(
    "before_x, after_x", [(128.0, 160.0), (None, 128.0)], ids=["person moves", "person appears"]
)
def test_motion_aware_follows_a_sudden_change_on_that_very_frame(
    before_x: float | None, after_x: float
) -> None:
    rng = np.random.default_rng(11)
    smoother = MotionAwareSmoother(0.7)
    empty = np.zeros((HEIGHT, WIDTH), np.float32)
    for _ in range(10):
        if before_x is None:
            wall = np.clip(60 + rng.normal(0, 2.0, empty.shape), 0, 255).astype(np.uint8)
            smoother.update(empty, wall)
        else:
            smoother.update(
                noisy_confidence(disc_confidence(before_x), rng), disc_gray(before_x, rng)
            )
    after = noisy_confidence(disc_confidence(after_x), rng)
    assert iou(smoother.update(after, disc_gray(after_x, rng)), after) > 0.9


def test_motion_aware_holds_but_does_not_freeze_where_the_picture_is_still() -> None:
    smoother = MotionAwareSmoother(0.7)
    gray = np.full((HEIGHT, WIDTH), 100, np.uint8)
    smoother.update(np.zeros((HEIGHT, WIDTH), np.float32), gray)
    changed = np.ones((HEIGHT, WIDTH), np.float32)
    outputs = [float(smoother.update(changed, gray).mean()) for _ in range(12)]
    assert outputs[0] < 0.5  # a change the picture does not show is held at first...
    assert outputs[-1] > 0.98  # ...but the mask still converges to it


def test_motion_aware_at_full_ratio_does_not_freeze_the_mask() -> None:
    smoother = MotionAwareSmoother(1.0)
    gray = np.full((HEIGHT, WIDTH), 100, np.uint8)
    smoother.update(np.zeros((HEIGHT, WIDTH), np.float32), gray)
    changed = np.ones((HEIGHT, WIDTH), np.float32)
    outputs = [float(smoother.update(changed, gray).mean()) for _ in range(60)]
    assert outputs[-1] > 0.9


def test_the_stabilizer_on_changed_tiles_is_the_hold_over_the_whole_box(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 720p the hold works only on the tiles whose alpha changed; the alphas it gives, frame
    after frame, are those of the hold over the whole box (a moving, flickering soft edge, a box
    that shrinks, and hold weights that are 1 on the left and 0 on the right)."""
    import cv2

    rng = np.random.default_rng(7)

    def frame_alpha(shift_px: int) -> np.ndarray:
        person = np.zeros((720, 1280), np.float32)
        cv2.ellipse(person, (640 + shift_px, 720), (330, 560), 0, 0, 360, 1.0, -1)
        soft = cv2.GaussianBlur(person, (0, 0), 3.0) + rng.normal(0, 0.02, person.shape)
        return np.clip(soft * 255.0, 0, 255).astype(np.uint8)

    hold = np.zeros((144, 256), np.float32)
    hold[:, :128] = 1.0
    boxes = [(slice(0, 720), slice(200, 1080)), (slice(100, 720), slice(260, 1020))]

    inputs = []
    for index, shift_px in enumerate((0, 0, 2, 2, 5, 5)):
        alpha = frame_alpha(shift_px)
        for strip in strips_around(*boxes[index // 3]):
            alpha[strip] = 0
        inputs.append(alpha)

    def run() -> list[np.ndarray]:
        stabilizer = AlphaStabilizer()
        outputs = []
        for index, alpha in enumerate(inputs):
            rows, cols = box = boxes[index // 3]
            hold_box = hold[rows.start // 5:rows.stop // 5, cols.start // 5:cols.stop // 5]
            outputs.append(stabilizer.update(alpha.copy(), hold_box, box).copy())
        return outputs

    on_tiles = run()
    monkeypatch.setattr(smoothing, "tile_side_px", lambda height_px, width_px: None)
    whole_box = run()
    for tiled, boxed in zip(on_tiles, whole_box, strict=True):
        np.testing.assert_array_equal(tiled, boxed)
    held = on_tiles[1] != inputs[1]
    assert held[:, :600].any(), "the noise on the held left half is held"
    assert not held[:, 700:].any(), "the right half, with hold weights 0, follows the frame"
