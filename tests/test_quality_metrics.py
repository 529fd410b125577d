"""Quality metrics on synthetic alpha sequences with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.quality import edge_alignment, edge_band, flicker, lag

HEIGHT, WIDTH = 90, 160


def soft_disc(center_x: float, radius_px: float = 25.0) -> np.ndarray:
    """Alpha 1 inside a disc and 0 outside, with a 4 px linear edge."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    distance = np.hypot(xx - center_x, yy - HEIGHT / 2)
    return np.clip((radius_px - distance) / 4.0 + 0.5, 0.0, 1.0).astype(np.float32)


def test_edge_band_is_the_soft_edge_dilated_by_8_px() -> None:
    alpha = np.zeros((HEIGHT, WIDTH), np.float32)
    alpha[:, 80:] = 1.0
    alpha[:, 80] = 0.5  # a one-pixel soft edge
    band = edge_band([alpha, alpha])
    assert np.flatnonzero(band[HEIGHT // 2]).tolist() == list(range(72, 89))


def test_a_constant_sequence_has_no_flicker() -> None:
    alphas = [soft_disc(80.0)] * 6
    assert edge_band(alphas).any()
    assert flicker(alphas) == 0.0


def test_flicker_is_the_rms_change_in_the_band_times_100() -> None:
    still = soft_disc(80.0)
    band = edge_band([still])
    wobbling = [still + np.float32(0.1 * (i % 2)) for i in range(5)]  # +-0.1 every frame
    assert flicker(wobbling, band) == pytest.approx(10.0, rel=1e-4)


def test_a_sequence_delayed_by_two_frames_reports_lag_2() -> None:
    raw = [soft_disc(40.0 + 4.0 * i) for i in range(14)]
    delayed = raw[:1] * 2 + raw[:-2]
    assert lag(delayed, raw) == 2
    assert lag(raw, raw) == 0


def test_lag_compares_full_size_output_with_model_size_masks() -> None:
    raw = [soft_disc(40.0 + 4.0 * i) for i in range(14)]
    upsampled = [np.repeat(np.repeat(mask, 2, axis=0), 2, axis=1) for mask in raw]
    assert lag(upsampled[:1] + upsampled[:-1], raw) == 1


def test_lag_needs_matching_sequences() -> None:
    raw = [soft_disc(40.0)] * 8
    with pytest.raises(ValueError, match="7 output alphas but 8 raw masks"):
        lag(raw[:7], raw)
    with pytest.raises(ValueError, match="at least 7 frames"):
        lag(raw[:3], raw[:3])


def test_edge_alignment_rewards_an_alpha_edge_on_the_image_edge() -> None:
    frame = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
    frame[:, 80:] = 200
    on_edge = np.zeros((HEIGHT, WIDTH), np.float32)
    on_edge[:, 80:] = 1.0
    off_edge = np.zeros((HEIGHT, WIDTH), np.float32)
    off_edge[:, 100:] = 1.0
    assert edge_alignment(on_edge, frame) > 0.9
    assert edge_alignment(off_edge, frame) < 0.1


def test_edge_alignment_names_mismatched_sizes() -> None:
    with pytest.raises(ValueError, match=r"alpha \(8, 8\) and frame \(9, 9, 3\)"):
        edge_alignment(np.zeros((8, 8), np.float32), np.zeros((9, 9, 3), np.uint8))
