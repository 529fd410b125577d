"""The mask-to-alpha chain: a still picture's refined edge holds, a moving one follows at once."""

from __future__ import annotations

import numpy as np
import pytest

from compositing.alpha import alpha_from_u8
from segmentation.chain import AlphaChain
from segmentation.quality import flicker
from segmentation.smoothing import AlphaStabilizer

WIDTH_PX, HEIGHT_PX = 640, 360
MASK_W, MASK_H = 128, 72


def _scene(edge_x_px: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A bright person left of `edge_x_px` on a dark wall, with sensor noise; its model mask."""
    xs = np.arange(WIDTH_PX, dtype=np.float32)
    row = np.where(xs < edge_x_px, 200.0, 60.0)
    frame = np.repeat(row[None, :], HEIGHT_PX, axis=0)[:, :, None].repeat(3, axis=2)
    frame = np.clip(frame + rng.normal(0, 3.0, frame.shape), 0, 255).astype(np.uint8)
    mask_xs = (np.arange(MASK_W, dtype=np.float32) + 0.5) * WIDTH_PX / MASK_W
    mask_row = 1.0 / (1.0 + np.exp((mask_xs - edge_x_px) / 6.0))
    mask = np.repeat(mask_row[None, :], MASK_H, axis=0).astype(np.float32)
    mask += rng.normal(0, 0.01, mask.shape).astype(np.float32)
    small = frame[::5, ::5, 0].astype(np.uint8)
    return frame, np.clip(mask, 0, 1), small


def _alphas(chain: AlphaChain, edges_px: list[float]) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    alphas = []
    for edge_x_px in edges_px:
        frame, mask, small = _scene(edge_x_px, rng)
        alphas.append(alpha_from_u8(chain.alpha(chain.smooth(mask, small), frame, 0.4)))
    return alphas


def test_a_still_picture_flickers_much_less_with_smoothing_than_without() -> None:
    still = [320.0] * 30
    raw_flicker = flicker(_alphas(AlphaChain(0.0, "fast"), still))
    smooth_flicker = flicker(_alphas(AlphaChain(0.7, "fast"), still))
    assert raw_flicker > 0
    assert smooth_flicker < 0.5 * raw_flicker


def test_a_moving_edge_is_followed_on_the_same_frame() -> None:
    edges = [320.0] * 10 + [360.0] * 3
    alphas = _alphas(AlphaChain(0.7, "fast"), edges)
    row = alphas[10][HEIGHT_PX // 2]
    crossing_px = int(np.argmax(row < 0.5))
    assert abs(crossing_px - 360) <= 4


def test_the_stabilizer_keeps_its_own_copy() -> None:
    stabilizer = AlphaStabilizer()
    hold = np.full((MASK_H, MASK_W), 0.7, np.float32)
    first = np.full((HEIGHT_PX, WIDTH_PX), 128, np.uint8)
    stabilizer.update(first, hold)
    first[:] = 0  # the caller reuses its buffer
    second = np.full((HEIGHT_PX, WIDTH_PX), 133, np.uint8)
    out = stabilizer.update(second, hold)
    # Held by 0.7 times a closeness of 1 - 5 / 25.5 levels: 133 + (128 - 133) * 0.56 = 130.2.
    assert np.abs(out.astype(int) - 130).max() <= 1


def test_the_stabilizer_follows_a_large_change_at_once() -> None:
    stabilizer = AlphaStabilizer()
    hold = np.full((MASK_H, MASK_W), 0.95, np.float32)
    stabilizer.update(np.full((HEIGHT_PX, WIDTH_PX), 0, np.uint8), hold)
    moved = stabilizer.update(np.full((HEIGHT_PX, WIDTH_PX), 255, np.uint8), hold)
    assert moved.min() == 255


def test_refining_only_the_box_around_the_person_gives_the_same_alpha(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import segmentation.chain as chain_module

    rng = np.random.default_rng(5)
    frame, mask, _small = _scene(200.0, rng)
    mask[mask < 0.04] = 0.0  # a clean background, as the model gives
    box = chain_module.person_box(mask, WIDTH_PX, HEIGHT_PX)
    assert box is not None
    (_mask_rows, mask_cols), (_rows, cols) = box
    assert cols.stop < WIDTH_PX  # the box leaves the empty right side out
    cropped = AlphaChain(0.0, "fast").alpha(mask, frame, 0.4).copy()
    monkeypatch.setattr(chain_module, "_BOX_MAX_AREA_SHARE", 0.0)  # refine everything
    whole = AlphaChain(0.0, "fast").alpha(mask, frame, 0.4)
    assert np.abs(cropped.astype(int) - whole).max() <= 1
    assert cropped[:, cols.stop:].max() == 0


def _demo_frame(width_px: int, height_px: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The demo's first frame, her true alpha (uint8) and the model's view of it: the true
    person at mask size, as a float confidence."""
    import cv2

    from app.devices.demo import DemoSource

    source = DemoSource(width_px, height_px, paced=False)
    source.open()
    try:
        frame = source.read(5.0)
        assert frame is not None
        truth = source.person_alpha(0)
    finally:
        source.close()
    mask = cv2.resize(truth, (256, 144), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    return frame.image_bgr, truth, mask


@pytest.mark.parametrize("mirror", [False, True])
@pytest.mark.parametrize(("width_px", "height_px"), [(1280, 720), (1920, 1080)])
def test_on_a_demo_frame_the_box_gives_the_whole_frame_alpha(
    monkeypatch: pytest.MonkeyPatch, width_px: int, height_px: int, mirror: bool
) -> None:
    import cv2

    import segmentation.chain as chain_module
    from app.settings import Settings

    frame_bgr, truth, mask = _demo_frame(width_px, height_px)
    if mirror:
        frame_bgr, truth, mask = cv2.flip(frame_bgr, 1), cv2.flip(truth, 1), cv2.flip(mask, 1)
    settings = Settings()

    def alpha() -> np.ndarray:
        chain = AlphaChain(settings.mask.smoothing, settings.mask.refinement)
        return chain.alpha(mask, frame_bgr, settings.mask.edge_softness).copy()

    work_bgr = AlphaChain(settings.mask.smoothing, settings.mask.refinement).work_frame(frame_bgr)
    box = chain_module.person_box(mask, work_bgr.shape[1], work_bgr.shape[0])
    assert box is not None  # the person leaves room to crop
    rows, cols = box[1]
    # Even sides: the crop's guide halves on OpenCV's fast 2x path.
    assert (rows.stop - rows.start) % 2 == 0 and (cols.stop - cols.start) % 2 == 0
    cropped = alpha()
    monkeypatch.setattr(chain_module, "_BOX_MAX_AREA_SHARE", 0.0)  # refine everything
    whole = alpha()
    assert np.abs(cropped.astype(int) - whole).max() <= 1
    assert 0 < np.count_nonzero(cropped == 255) < cropped.size  # she is there, and not all of it


def test_at_720p_the_half_size_alpha_is_as_true_and_as_crisp_as_the_full_size_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """720p's default refinement works on the frame's halving (a quarter of the pixels). On a
    demo frame, with her true alpha as the model's view, its edge is no further from the truth
    than a full-size refinement's, and its soft edge hardly wider (raising the contrast is what
    keeps it crisp: without, it is 1.3 times as wide and further from the truth)."""
    import cv2

    import segmentation.chain as chain_module
    from app.settings import Settings

    frame_bgr, truth_u8, mask = _demo_frame(1280, 720)
    truth = truth_u8.astype(int)
    settings = Settings()
    edge = cv2.morphologyEx((truth_u8 > 127).astype(np.uint8), cv2.MORPH_GRADIENT,
                            np.ones((3, 3), np.uint8))
    band = cv2.dilate(edge, np.ones((15, 15), np.uint8)).astype(bool)

    def alpha() -> tuple[np.ndarray, tuple[int, ...]]:
        chain = AlphaChain(settings.mask.smoothing, settings.mask.refinement)
        made = chain.alpha(mask, frame_bgr, settings.mask.edge_softness)
        return made.astype(int), chain.work_frame(frame_bgr).shape

    half, half_work_shape = alpha()
    monkeypatch.setattr(chain_module, "FAST_MAX_WORK_WIDTH_PX", 1280)
    full, full_work_shape = alpha()
    assert (half_work_shape, full_work_shape) == ((360, 640, 3), (720, 1280, 3))
    assert np.abs(half - truth)[band].mean() <= np.abs(full - truth)[band].mean()

    def soft_px(alpha: np.ndarray) -> int:
        return int(np.count_nonzero((alpha > 0) & (alpha < 255)))

    assert soft_px(half) <= 1.15 * soft_px(full)
