"""Quality metrics on synthetic alpha sequences with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.quality import (
    boundary,
    boundary_tolerance_px,
    edge_alignment,
    edge_band,
    edge_colour_error,
    flicker,
    ideal_composite,
    iou,
    lag,
    temporal_error,
    true_edge_band,
)

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


# --- against the truth ----------------------------------------------------------------------


def person_from(column: int, height_px: int = HEIGHT, width_px: int = WIDTH) -> np.ndarray:
    """A hard-edged person filling every column from `column` rightwards (one vertical edge)."""
    alpha = np.zeros((height_px, width_px), np.float32)
    alpha[:, column:] = 1.0
    return alpha


def test_iou_of_the_same_area_is_1_of_disjoint_areas_0_and_of_half_overlap_one_third() -> None:
    truth = person_from(80)
    assert iou(soft_disc(80.0), soft_disc(80.0)) == 1.0
    assert iou(truth, truth) == 1.0
    assert iou(1.0 - truth, truth) == 0.0
    assert iou(person_from(40), person_from(120)) == pytest.approx(40 / 120)


def test_boundary_tolerance_is_0_8_percent_of_the_diagonal() -> None:
    assert boundary_tolerance_px(720, 1280) == 12  # 0.008 * 1468.6 = 11.75, rounded up
    assert boundary_tolerance_px(1080, 1920) == 18


def test_identical_masks_have_a_perfect_boundary() -> None:
    score = boundary(soft_disc(80.0), soft_disc(80.0))
    assert (score.precision, score.recall, score.f) == (1.0, 1.0, 1.0)


def test_an_edge_within_the_tolerance_matches_and_one_beyond_it_does_not() -> None:
    truth = person_from(80)
    tolerance_px = boundary_tolerance_px(HEIGHT, WIDTH)  # 2 px at 160x90
    assert boundary(person_from(80 + tolerance_px), truth).f == 1.0
    beyond = boundary(person_from(80 + tolerance_px + 1), truth)
    assert (beyond.precision, beyond.recall, beyond.f) == (0.0, 0.0, 0.0)


def test_a_mask_shifted_well_beyond_the_tolerance_keeps_only_its_parallel_edges() -> None:
    truth = np.zeros((HEIGHT, WIDTH), np.float32)
    truth[20:70, 40:90] = 1.0  # a 50 px square
    shifted = np.roll(truth, 10, axis=1)
    score = boundary(shifted, truth)
    assert 0.4 < score.f < 0.9  # top and bottom mostly still match, the sides do not
    assert score.precision == pytest.approx(score.recall)


def test_a_missing_person_has_no_boundary_recall_and_no_person_anywhere_is_perfect() -> None:
    nobody = np.zeros((HEIGHT, WIDTH), np.float32)
    missed = boundary(nobody, soft_disc(80.0))
    assert (missed.precision, missed.recall, missed.f) == (1.0, 0.0, 0.0)
    assert boundary(nobody, nobody).f == 1.0


def test_the_true_edge_band_is_7_px_either_side_of_the_edge() -> None:
    band = true_edge_band(person_from(80))
    assert np.flatnonzero(band[HEIGHT // 2]).tolist() == list(range(73, 88))
    assert band.all(axis=0)[73:88].all()  # the whole edge, top to bottom


def test_an_alpha_that_follows_the_truth_exactly_has_no_temporal_error() -> None:
    before, after = person_from(80), person_from(81)
    band = true_edge_band(before) | true_edge_band(after)
    assert temporal_error((before, after), (before, after), band) == 0.0
    # A still alpha in the wrong place is no temporal error (IoU and boundary F catch that).
    assert temporal_error((soft_disc(80.0),) * 2, (before,) * 2, band) == 0.0


def test_an_alpha_one_pixel_behind_the_truth_has_a_known_temporal_error() -> None:
    before, after = person_from(80), person_from(81)
    band = true_edge_band(before) | true_edge_band(after)  # columns 73..88: 16 wide
    # The truth leaves column 80; the still alpha does not: an error of 1 on 1 column in 16.
    assert temporal_error((before, before), (before, after), band) == pytest.approx(25.0)


def test_flicker_on_a_still_truth_is_the_temporal_error() -> None:
    truth = soft_disc(80.0)
    band = true_edge_band(truth)
    wobbling = (truth, truth + np.float32(0.1))
    assert temporal_error(wobbling, (truth, truth), band) == pytest.approx(10.0, rel=1e-4)


def test_temporal_error_names_mismatched_shapes() -> None:
    alpha = np.zeros((8, 8), np.float32)
    with pytest.raises(ValueError, match="differ in shape"):
        temporal_error((alpha, alpha), (alpha, alpha), np.zeros((9, 9), bool))


def test_the_ideal_composite_is_the_person_over_the_new_background() -> None:
    truth = np.array([[1.0, 0.5, 0.0]], np.float32)
    colour = np.array([200.0, 100.0, 40.0], np.float32)
    person = colour * truth[..., None]  # premultiplied
    background = np.full((1, 3, 3), 20, np.uint8)
    ideal = ideal_composite(person, truth, background)
    assert ideal.tolist() == [[[200, 100, 40], [110, 60, 30], [20, 20, 20]]]


def test_edge_colour_is_the_mean_level_difference_inside_the_band_only() -> None:
    ideal = np.full((HEIGHT, WIDTH, 3), 100.0, np.float32)
    band = true_edge_band(person_from(80))
    output = np.full((HEIGHT, WIDTH, 3), 100, np.uint8)
    assert edge_colour_error(output, ideal, band) == 0.0
    output[band] = 110
    output[:, :20] = 0  # far from the edge: does not count
    assert edge_colour_error(output, ideal, band) == pytest.approx(10.0)
