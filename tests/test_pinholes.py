"""Specks of room inside the person are filled; real gaps and the room around her are not."""

from __future__ import annotations

import cv2
import numpy as np

from app.cli.quality import collect_alphas
from app.devices.demo import DemoSource
from app.settings import Settings
from segmentation.pinholes import FILLED_CONFIDENCE, fill_pinholes

MASK_SHAPE = (144, 256)


def _person() -> np.ndarray:
    """A confident person: head and shoulders down to the bottom edge, in a clear room."""
    confidence = np.full(MASK_SHAPE, 0.02, np.float32)
    cv2.ellipse(confidence, (128, 50), (28, 34), 0, 0, 360, 0.98, -1)
    cv2.rectangle(confidence, (60, 80), (196, 143), 0.98, -1)
    return confidence


def test_a_speck_inside_her_is_filled() -> None:
    confidence = _person()
    confidence[100:103, 120:123] = 0.1  # a highlight the model took for the wall
    filled = fill_pinholes(confidence)
    assert (filled[100:103, 120:123] >= FILLED_CONFIDENCE).all()
    assert np.array_equal(filled[:90], confidence[:90])  # nothing else changed


def test_a_speck_cut_by_the_bottom_edge_is_filled() -> None:
    confidence = _person()
    confidence[140:144, 150:154] = 0.1  # her body goes on below the frame
    assert (fill_pinholes(confidence)[140:144, 150:154] >= FILLED_CONFIDENCE).all()


def test_a_gap_under_her_arm_and_the_room_stay() -> None:
    confidence = _person()
    confidence[95:125, 80:110] = 0.05  # a 30x30 gap between arm and body: the room shows
    confidence[0:3, 126:130] = 0.05  # room at the top edge, above her head
    filled = fill_pinholes(confidence)
    assert np.array_equal(filled, confidence)


def test_no_hole_returns_the_mask_itself() -> None:
    confidence = _person()
    assert fill_pinholes(confidence) is confidence


def _enclosed_holes(alpha: np.ndarray, min_area_px: int = 9) -> int:
    """Regions of room (alpha <= 0.5) of at least 3x3 pixels that touch no side of the frame
    but the bottom."""
    room = (alpha <= 0.5).astype(np.uint8)
    _count, _labels, stats, _ = cv2.connectedComponentsWithStats(room, connectivity=4)
    height_px, width_px = alpha.shape
    x, y = stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP]
    right = x + stats[1:, cv2.CC_STAT_WIDTH]
    visible = stats[1:, cv2.CC_STAT_AREA] >= min_area_px
    return int(np.count_nonzero((x > 0) & (y > 0) & (right < width_px) & visible))


def test_the_demo_helmet_highlight_does_not_show_the_room_at_the_defaults() -> None:
    """The real model at 1280x720 takes the white highlights on her helmet for the wall; the
    raw mask shows the room through them (patches of 200 to 360 pixels), Backdrop's alpha
    does not."""
    source = DemoSource(1280, 720, 30.0, paced=False)
    source.open()
    try:
        _frames, raw, ours = collect_alphas(source, 8, Settings())
    finally:
        source.close()
    assert sum(_enclosed_holes(alpha) for alpha in raw) > 0  # the model's own specks
    assert sum(_enclosed_holes(alpha) for alpha in ours) == 0
