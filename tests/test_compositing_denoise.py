"""Denoise against the demo's truth: its noise-free frame. Grain falls while she is still, and
nothing trails when she moves."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.devices.demo import DemoRenderer
from compositing.denoise import Denoise


def _error_against_truth(renderer: DemoRenderer, frames: int,
                         strength: float | None = None) -> tuple[float, float]:
    """Mean RMS error of the person's inside against the noise-free truth, from frame 10 on:
    (the camera's, denoised at `strength`, by default the default)."""
    denoise = Denoise() if strength is None else Denoise(strength)
    raw, denoised = [], []
    for index in range(frames):
        time_s = index / 30
        frame, truth = renderer.render(time_s), renderer.truth(time_s)
        out = denoise.apply(frame, frame, truth.alpha_u8)
        inside = cv2.erode(truth.alpha_u8, np.ones((9, 9), np.uint8)) == 255
        if index >= 10:
            clean = truth.clean_bgr[inside].astype(np.float32)
            raw.append(float(np.sqrt(((frame[inside] - clean) ** 2).mean())))
            denoised.append(float(np.sqrt(((out[inside] - clean) ** 2).mean())))
    return float(np.mean(raw)), float(np.mean(denoised))


def test_grain_falls_by_a_quarter_on_a_still_person() -> None:
    raw, denoised = _error_against_truth(DemoRenderer(1280, 720, static=True), 40)
    assert denoised <= 0.75 * raw


def test_the_strength_slider_does_something_all_along_its_range() -> None:
    # Strength sets how large a difference still counts as grain: every step up calms more.
    errors = [_error_against_truth(DemoRenderer(1280, 720, static=True), 25, strength)
              for strength in (0.05, 0.3, 0.6, 1.0)]
    raw = errors[0][0]
    denoised = [error for _raw, error in errors]
    assert denoised[0] < 0.97 * raw
    steps = zip(denoised[:-1], denoised[1:], strict=True)
    assert all(weaker > 1.02 * stronger for weaker, stronger in steps)


@pytest.mark.parametrize("motion", ["sway", "tilt"])
def test_a_moving_person_is_closer_to_the_truth_not_further(motion: str) -> None:
    raw, denoised = _error_against_truth(DemoRenderer(1280, 720, motion=motion), 40)
    assert denoised < raw


@pytest.mark.parametrize("motion", ["sway", "tilt"])
def test_the_moving_edge_does_not_trail(motion: str) -> None:
    """On her side of her moving outline (1 to 4 px in), where a trail of the room she just
    left would show, the worst errors against the truth are no larger than the camera's own
    grain (measured: 99.9th percentile 8.0-8.8 levels denoised, 10.0 without)."""
    renderer = DemoRenderer(1280, 720, motion=motion)
    denoise = Denoise()
    raw, denoised = [], []
    for index in range(40):
        time_s = index / 30
        frame, truth = renderer.render(time_s), renderer.truth(time_s)
        out = denoise.apply(frame, frame, truth.alpha_u8)
        if index < 10:
            continue
        inside = cv2.erode(truth.alpha_u8, np.ones((9, 9), np.uint8)) == 255
        near = cv2.erode(truth.alpha_u8, np.ones((3, 3), np.uint8)) == 255
        edge = near & ~inside
        clean = truth.clean_bgr[edge].astype(np.float32)
        raw.append(np.percentile(np.abs(frame[edge] - clean), 99.9))
        denoised.append(np.percentile(np.abs(out[edge] - clean), 99.9))
    assert np.mean(denoised) <= np.mean(raw)


def test_a_sudden_move_passes_at_once_and_the_background_is_never_touched() -> None:
    rng = np.random.default_rng(1)
    texture = rng.integers(60, 200, (120, 80, 3), dtype=np.uint8)
    alpha = np.zeros((360, 640), np.uint8)
    alpha[100:220, 60:520] = 255  # the person's region covers both places

    def frame_with_block_at(x: int) -> np.ndarray:
        frame = np.full((360, 640, 3), 90, np.uint8)
        frame[100:220, x:x + 80] = texture
        return frame

    denoise = Denoise(1.0)
    for _ in range(20):
        denoise.apply(frame_with_block_at(100), frame_with_block_at(100), alpha)
    before, moved = frame_with_block_at(100), frame_with_block_at(400)
    out = denoise.apply(moved, moved, alpha)
    error = np.abs(out.astype(int) - moved)
    change = np.abs(moved.astype(int) - before)
    assert error[change >= 30].max() <= 1  # a real change passes at once, at both places
    assert error.max() <= 8  # one of a few levels (like noise) is followed part of the way
    for _ in range(6):
        out = denoise.apply(moved, moved, alpha)
    assert np.abs(out.astype(int) - moved).max() <= 2  # and has caught up a few frames later
    composite = moved.copy()
    composite[alpha == 0] = (0, 255, 0)
    out = denoise.apply(composite, moved, alpha)
    assert (out[alpha == 0] == (0, 255, 0)).all()


def test_zero_strength_is_the_frame_itself_and_strength_is_checked() -> None:
    frame = np.full((40, 40, 3), 100, np.uint8)
    alpha = np.full((40, 40), 255, np.uint8)
    assert Denoise(0.0).apply(frame, frame, alpha) is frame
    with pytest.raises(ValueError, match="0..1"):
        Denoise(1.2)
