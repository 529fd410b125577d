"""Auto-framing (issue 15): the crop follows the person, smoothly, and stays still."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from app.devices.demo import DemoSource
from app.devices.frames import Frame
from app.engine.schedules import RunMode
from app.engine.stages import FrameStages
from app.engine.stats import PipelineStats
from app.settings import Settings, StudioSettings
from compositing.downscale import scale_to
from compositing.framing import MAX_STEP, AutoFraming

WIDTH_PX, HEIGHT_PX, FPS = 640, 360, 30


def _edge_move(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    """The most any edge of the crop moved between two boxes (x, y, w, h)."""
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]), abs(a[0] + a[2] - b[0] - b[2]),
               abs(a[1] + a[3] - b[1] - b[3]))


def _steady(boxes: list[tuple[int, int, int, int]]) -> bool:
    """No edge moved more than 2% of the width (and a pixel of rounding) between two frames."""
    return all(_edge_move(a, b) <= MAX_STEP * WIDTH_PX + 1
               for a, b in zip(boxes, boxes[1:], strict=False))


def _blob(centre_x: int, top: int = 60, width: int = 140) -> np.ndarray:
    alpha = np.zeros((HEIGHT_PX, WIDTH_PX), np.uint8)
    cv2.ellipse(alpha, (centre_x, top + 45), (35, 45), 0, 0, 360, 255, -1)
    cv2.rectangle(alpha, (centre_x - width // 2, top + 80), (centre_x + width // 2, HEIGHT_PX),
                  255, -1)
    return alpha


def test_the_crop_centres_a_person_in_the_left_third_with_head_room() -> None:
    framing, alpha = AutoFraming(), _blob(centre_x=WIDTH_PX * 3 // 10)
    boxes = [framing.update(alpha) for _ in range(2 * FPS)]
    x, y, crop_w, crop_h = boxes[-1]
    assert crop_w == pytest.approx(WIDTH_PX / 1.6, abs=2)  # zoom capped at 1.6x
    assert abs((WIDTH_PX * 3 / 10 - x) / crop_w - 0.5) < 0.10
    assert _steady(boxes)
    assert (60 - y) / crop_h == pytest.approx(1 / 6, abs=0.04)  # head room
    framing.zoom_max = 1.2
    for _ in range(2 * FPS):
        box = framing.update(alpha)
    assert box[2] == pytest.approx(WIDTH_PX / 1.2, abs=2)


def test_sensor_noise_does_not_move_a_settled_crop_and_an_empty_room_eases_back() -> None:
    framing, rng = AutoFraming(), np.random.default_rng(1)
    for _ in range(3 * FPS):
        framing.update(_blob(centre_x=250))
    settled = framing.box()
    for _ in range(FPS):  # the mask's edge jitters by a few pixels, as a real mask's does
        jittered = _blob(250 + int(rng.integers(-6, 7)), top=60 + int(rng.integers(-4, 5)))
        assert framing.update(jittered) == settled
    boxes = [framing.update(np.zeros((HEIGHT_PX, WIDTH_PX), np.uint8)) for _ in range(3 * FPS)]
    assert boxes[-1] == (0, 0, WIDTH_PX, HEIGHT_PX)
    assert _steady(boxes)


def test_the_framed_picture_is_the_crop_at_full_size_as_sharp_as_a_bilinear_scale() -> None:
    """What the meeting sees: the crop's content, scaled to the whole picture; a sharp edge
    stays the two pixels wide a bilinear 1.6x scale makes it, and flat areas keep their level."""
    frame = np.full((HEIGHT_PX, WIDTH_PX, 3), 50, np.uint8)
    frame[:, 300:] = 200  # a sharp vertical edge in the person's column
    framing, alpha = AutoFraming(), _blob(centre_x=300)
    for _ in range(3 * FPS):
        framing.update(alpha)
    x, _y, crop_w, _h = framing.box()
    shown = framing.apply(frame)
    assert shown.shape == frame.shape
    row = shown[HEIGHT_PX // 2, :, 0].astype(int)
    edge_x = (300 - x) * WIDTH_PX / crop_w  # where the edge lands, scaled about the crop
    assert set(row[: int(edge_x) - 2]) == {50} and set(row[int(edge_x) + 3:]) == {200}
    in_between = np.flatnonzero((row > 50 + 15) & (row < 200 - 15))  # 10% to 90% of the step
    # Blended (nearest would leave none: jagged slopes), over no more pixels than 1.6x makes.
    assert 0 < in_between.size <= int(np.ceil(WIDTH_PX / crop_w))
    assert abs(in_between.mean() - edge_x) <= 1.0


def test_with_nobody_the_picture_is_the_camera_frame_itself_not_rescaled() -> None:
    framing, frame = AutoFraming(), np.full((HEIGHT_PX, WIDTH_PX, 3), 90, np.uint8)
    for _ in range(FPS):
        framing.update(_blob(centre_x=320))
    assert framing.apply(frame) is not frame
    for _ in range(3 * FPS):
        framing.update(np.zeros((HEIGHT_PX, WIDTH_PX), np.uint8))
    assert framing.apply(frame) is frame


def _framed_stages(static: bool, effect: str = "blur") -> tuple[FrameStages, DemoSource]:
    base = Settings()
    settings = dataclasses.replace(
        base, effect=dataclasses.replace(base.effect, kind=effect),
        output=dataclasses.replace(base.output, mirror=False),
        studio=StudioSettings(framing="auto"),
    )
    source = DemoSource(WIDTH_PX, HEIGHT_PX, FPS, static=static, paced=False)
    return FrameStages(settings, WIDTH_PX, HEIGHT_PX, RunMode.EVERY_FRAME), source


def _run(
    static: bool, frames: int, shift_px: int, effect: str = "blur"
) -> Iterator[tuple[tuple[int, int, int, int], int, np.ndarray]]:
    """(the crop, the true person centre x, the output picture) for each output frame of the
    demo moved left."""
    stages, source = _framed_stages(static, effect)
    source.open()
    move = np.float32([[1, 0, -shift_px], [0, 1, 0]])
    try:
        for index in range(frames):
            frame = source.read()
            assert frame is not None
            image = cv2.warpAffine(frame.image_bgr, move, (WIDTH_PX, HEIGHT_PX),
                                   borderMode=cv2.BORDER_REPLICATE)
            truth = cv2.warpAffine(source.person_alpha(index), move, (WIDTH_PX, HEIGHT_PX))
            cols = np.flatnonzero((truth >= 128).any(axis=0))
            for finished in stages.process(Frame(image, index / FPS, index), PipelineStats()):
                box = stages.framing_box
                assert box is not None
                yield box, int((cols[0] + cols[-1]) // 2), finished.output_bgr
    finally:
        source.close()
        stages.close()


def test_on_the_demo_in_the_left_third_the_person_is_centred_within_2_s() -> None:
    demo_centre_x = WIDTH_PX // 2  # the demo draws her in the middle
    shift_px = demo_centre_x - WIDTH_PX * 3 // 10
    results = list(_run(static=False, frames=2 * FPS, shift_px=shift_px, effect="color"))
    boxes = [box for box, _, _ in results]
    (x, _y, crop_w, _h), person_x, shown = results[-1]
    assert abs((person_x - x) / crop_w - 0.5) < 0.10
    assert _steady(boxes)
    # In the picture itself (a flat colour behind her): her head is in the middle, larger.
    background_bgr = np.array(Settings().effect.color_rgb[::-1], np.int16)
    person = np.abs(shown.astype(np.int16) - background_bgr).max(axis=2) > 60
    rows = np.flatnonzero(person.any(axis=1))
    head = person[rows[0]:rows[0] + (rows[-1] - rows[0]) // 4]
    cols = np.flatnonzero(head.any(axis=0))
    assert abs((cols[0] + cols[-1]) / 2 / WIDTH_PX - 0.5) < 0.10
    assert rows[0] / HEIGHT_PX == pytest.approx(1 / 6, abs=0.06)  # head room


def test_on_the_static_demo_the_crop_does_not_move_after_settling() -> None:
    boxes = [box for box, _, _ in _run(static=True, frames=4 * FPS, shift_px=0)]
    assert len(set(boxes[2 * FPS:])) == 1, sorted(set(boxes[2 * FPS:]))


@pytest.mark.parametrize("studio", [StudioSettings(framing="auto"),
                                    StudioSettings(framing="auto", touch_up=0.7, light=0.75)])
def test_at_720p_the_framed_picture_is_the_crop_of_the_whole_one_scaled_up(
    studio: StudioSettings,
) -> None:
    """The compositor makes only what the crop shows: that must be the picture framing showed
    when it cropped the whole composite, with touch-up and light on too."""
    width_px, height_px = 1280, 720
    base = Settings()
    looks = [dataclasses.replace(base, output=dataclasses.replace(base.output, mirror=False),
                                 studio=dataclasses.replace(studio, framing=framing))
             for framing in ("auto", "off")]
    framed, whole = (FrameStages(look, width_px, height_px, RunMode.EVERY_FRAME)
                     for look in looks)
    source = DemoSource(width_px, height_px, FPS, paced=False)
    source.open()
    move = np.float32([[1, 0, -200], [0, 1, 0]])  # off centre, so the crop keeps moving
    compared, stats = 0, PipelineStats()
    try:
        for index in range(45):
            frame = source.read()
            assert frame is not None
            image = cv2.warpAffine(frame.image_bgr, move, (width_px, height_px),
                                   borderMode=cv2.BORDER_REPLICATE)
            shown = [finished.output_bgr for stages in (framed, whole)
                     for finished in stages.process(Frame(image, index / FPS, index), stats)]
            x, y, crop_w, crop_h = framed.framing_box or (0, 0, width_px, height_px)
            if (crop_w, crop_h) == (width_px, height_px):
                continue
            expected = scale_to(shown[1][y:y + crop_h, x:x + crop_w], (width_px, height_px))
            np.testing.assert_array_equal(shown[0], expected)
            compared += 1
    finally:
        source.close()
        framed.close()
        whole.close()
    assert compared > 30
    if studio.touch_up:  # the face was found and touched up
        assert "touch_up" in stats.snapshot().stage_ms_p50


@pytest.mark.parametrize("crop", [(200, 100, 800, 450), (0, 0, 1066, 600), (366, 206, 914, 514)])
def test_the_crop_is_scaled_up_as_bilinear_resize_would_to_a_level(
        crop: tuple[int, int, int, int]) -> None:
    frame = np.random.default_rng(5).integers(0, 256, (720, 1280, 3), np.uint8)  # the default
    x, y, crop_w, crop_h = crop
    part = frame[y:y + crop_h, x:x + crop_w]
    scaled = scale_to(part, (1280, 720)).astype(int)
    resized = cv2.resize(part, (1280, 720), interpolation=cv2.INTER_LINEAR)
    assert part.shape == (crop_h, crop_w, 3) and scaled.shape == (720, 1280, 3)
    assert np.abs(scaled - resized).max() <= 1 and np.abs(scaled - resized).mean() < 0.2
