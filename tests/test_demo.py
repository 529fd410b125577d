"""The demo source: a person in a room, moving gently, with sensor noise, paced by the clock."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.clock import FakeClock
from app.devices.demo import DemoRenderer, DemoSource, _noise_field, demo_person_regions
from app.devices.demo_room import shade
from app.devices.frames import Frame, SourceError

# A quarter period of the 0.3 Hz sway: from the centre to the far end of the swing.
_QUARTER_SWAY_S = 1.0 / (4 * 0.3)


def _open_demo(
    width_px: int = 320, height_px: int = 180, static: bool = False, seed: int = 0,
    paced: bool = True, motion: str = "sway",
) -> DemoSource:
    source = DemoSource(width_px, height_px, 30.0, FakeClock(), static, seed, paced, motion)
    source.open()
    return source


def _read(source: DemoSource) -> Frame:
    frame = source.read()
    assert frame is not None
    return frame


def _blurred(image_bgr: np.ndarray) -> np.ndarray:
    """The picture without its sensor noise (what an eye sees of the content)."""
    return cv2.GaussianBlur(image_bgr.astype(np.float32), (0, 0), 3.0)


@pytest.mark.parametrize("size", [(640, 360), (320, 240), (1280, 720)])
def test_frames_have_the_requested_size_and_format(size: tuple[int, int]) -> None:
    source = _open_demo(*size, paced=False)
    frame = _read(source)
    assert frame.image_bgr.shape == (size[1], size[0], 3)
    assert frame.image_bgr.dtype == np.uint8
    assert (source.width_px, source.height_px) == size
    source.close()


def test_every_frame_is_a_new_array_the_consumer_may_keep() -> None:
    source = _open_demo(paced=False)
    first, second = _read(source), _read(source)
    kept = first.image_bgr.copy()
    _read(source)
    assert not np.shares_memory(first.image_bgr, second.image_bgr)
    assert np.array_equal(first.image_bgr, kept)
    source.close()


def test_static_frames_differ_only_by_sensor_noise() -> None:
    source = _open_demo(static=True, paced=False)
    frames = [_read(source).image_bgr for _ in range(int(_QUARTER_SWAY_S * 30) + 1)]
    first, last = frames[0], frames[-1]
    noise = first.astype(np.int16) - last.astype(np.int16)
    assert np.count_nonzero(noise) > 0.5 * noise.size  # fresh noise in every frame
    assert 2.0 < float(noise.std()) < 8.0  # two frames of sigma-3 noise: about 4.2
    content_change = np.abs(_blurred(first) - _blurred(last))
    assert float(np.percentile(content_change, 99.9)) < 3.0


def test_the_person_sways_in_front_of_a_still_room() -> None:
    source = _open_demo(paced=False)
    frames = [_read(source).image_bgr for _ in range(int(_QUARTER_SWAY_S * 30) + 1)]
    change = np.abs(_blurred(frames[0]) - _blurred(frames[-1])).max(axis=2)
    moved = change > 8.0
    assert np.count_nonzero(moved) > 0.003 * moved.size
    person = source.person_alpha(0) > 0
    near_person = cv2.dilate(person.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    assert not np.any(moved & ~near_person)  # the room itself stays put


def test_face_and_torso_stay_inside_the_person_and_the_corners_are_room() -> None:
    width_px, height_px = 640, 360
    source = _open_demo(width_px, height_px, paced=False)
    regions = demo_person_regions(width_px, height_px)
    for box in (regions.face, regions.torso):
        assert (box.x1 - box.x0) * (box.y1 - box.y0) > 0.004 * width_px * height_px
    for index in range(0, 150, 7):  # five seconds: both oscillations through full cycles
        alpha = source.person_alpha(index)
        for box in (regions.face, regions.torso):
            assert alpha[box.y0 : box.y1, box.x0 : box.x1].min() == 255
        for corner in (alpha[:20, :20], alpha[:20, -20:], alpha[-20:, :20], alpha[-20:, -20:]):
            assert corner.max() == 0
    source.close()


def test_the_face_sits_in_the_upper_half_and_the_body_reaches_the_bottom_edge() -> None:
    width_px, height_px = 640, 480
    source = _open_demo(width_px, height_px, paced=False)
    regions = demo_person_regions(width_px, height_px)
    face_centre_y = (regions.face.y0 + regions.face.y1) / 2
    assert face_centre_y < 0.4 * height_px
    assert abs((regions.face.x0 + regions.face.x1) / 2 - width_px / 2) < 0.05 * width_px
    assert np.count_nonzero(source.person_alpha(0)[-1] == 255) > 0.4 * width_px
    source.close()


def test_the_same_seed_gives_the_same_video_and_another_seed_another_room() -> None:
    first = _read(_open_demo(paced=False, seed=3)).image_bgr
    again = _read(_open_demo(paced=False, seed=3)).image_bgr
    other = _read(_open_demo(paced=False, seed=4)).image_bgr
    assert np.array_equal(first, again)
    assert float(np.abs(_blurred(first) - _blurred(other)).mean()) > 2.0


def test_paced_frames_follow_the_clock_and_a_slow_reader_skips_frames() -> None:
    clock = FakeClock()
    source = DemoSource(320, 180, 10.0, clock)
    source.open()
    first = _read(source)
    assert (first.index, first.captured_s) == (0, 0.0)
    second = _read(source)  # not due yet: the source waits for it via the clock
    assert second.index == 1
    assert second.captured_s == pytest.approx(0.1)
    clock.advance(0.35)  # the reader was busy: frames 2 and 3 were due meanwhile
    late = _read(source)
    assert late.index == 4
    assert source.dropped_frames == 2
    assert source.read(timeout_s=0.01) is None  # frame 5 is due in 0.05 s
    source.close()


def test_unpaced_frames_come_at_once() -> None:
    clock = FakeClock()
    source = DemoSource(320, 180, 30.0, clock, paced=False)
    source.open()
    indices = [_read(source).index for _ in range(5)]
    assert indices == [0, 1, 2, 3, 4]
    assert clock.now_s() == 0.0 and not clock.slept_s
    source.close()


@pytest.mark.parametrize("size", [(641, 480), (640, 481), (16, 16), (0, 480)])
def test_odd_or_tiny_sizes_are_refused_with_a_clear_message(size: tuple[int, int]) -> None:
    with pytest.raises(SourceError, match=f"{size[0]}x{size[1]}.*even"):
        DemoSource(*size)


def test_read_before_open_and_close_twice() -> None:
    source = DemoSource(320, 180)
    with pytest.raises(RuntimeError, match="open"):
        source.read()
    source.open()
    source.close()
    source.close()


# A full head tilt: a quarter period of the 0.4 Hz tilt.
_QUARTER_TILT_S = 1.0 / (4 * 0.4)


@pytest.mark.parametrize(("motion", "static"), [("sway", False), ("sway", True), ("tilt", False)])
def test_the_truth_is_what_was_drawn_before_the_noise(motion: str, static: bool) -> None:
    source = _open_demo(640, 360, static=static, paced=False, motion=motion)
    for index in range(3):
        frame_bgr = _read(source).image_bgr
        truth = source.truth(index)
        noise = frame_bgr.astype(np.int16) - truth.clean_bgr
        assert 2.0 < float(noise.std()) < 4.0 and np.abs(noise).max() <= 16
        assert np.array_equal(truth.alpha_u8, source.person_alpha(index))
        person, nobody = truth.alpha_u8 == 255, truth.alpha_u8 == 0
        assert np.array_equal(truth.person_bgr[person], truth.clean_bgr[person])
        assert not truth.person_bgr[nobody].any()
    source.close()


def test_the_tilt_turns_her_head_and_leaves_her_torso_and_the_room_alone() -> None:
    width_px, height_px = 640, 360
    tilting = DemoRenderer(width_px, height_px, motion="tilt")
    swaying = DemoRenderer(width_px, height_px)
    at_rest = tilting.truth(0.0), swaying.truth(0.0)
    assert np.array_equal(at_rest[0].clean_bgr, at_rest[1].clean_bgr)
    tilted, swayed = tilting.truth(_QUARTER_TILT_S), swaying.truth(_QUARTER_TILT_S)
    moved = np.abs(tilted.alpha_u8.astype(np.int16) - swayed.alpha_u8) > 64
    regions = demo_person_regions(width_px, height_px)
    moved_rows = np.flatnonzero(moved.any(axis=1))
    assert moved_rows.size > 0.1 * height_px  # the head's outline moved by pixels
    assert moved_rows.max() < regions.torso.y0  # the torso did not
    below_neck = slice(regions.torso.y0, None)
    assert np.array_equal(tilted.clean_bgr[below_neck], swayed.clean_bgr[below_neck])


def test_an_unknown_motion_is_refused_with_the_choices() -> None:
    with pytest.raises(SourceError, match="no motion 'spin'.*sway or tilt"):
        DemoSource(320, 180, motion="spin")


def test_shading_a_band_of_rows_at_a_time_gives_the_whole_frame_float_product() -> None:
    rng = np.random.default_rng(3)
    factor = rng.uniform(0.5, 1.2, (150, 70)).astype(np.float32)
    for image in (rng.integers(0, 256, (150, 70, 3), dtype=np.uint8),
                  rng.uniform(0.0, 300.0, (150, 70, 3)).astype(np.float32)):
        whole = np.clip(image.astype(np.float32) * factor[..., None], 0, 239).astype(np.uint8)
        assert np.array_equal(shade(image, factor, 239), whole)


def test_the_noise_field_drawn_in_bands_is_the_one_drawn_all_at_once() -> None:
    shape = (180 + 64, 320 + 64, 3)
    half = np.random.default_rng(9).standard_normal(shape, dtype=np.float32) * (3.0 / 2**0.5)
    whole = np.clip(np.round(half + 8), 0, 16).astype(np.uint8)
    assert np.array_equal(_noise_field(320, 180, 9), whole)
